"""face-api's 68-point landmark network (iBUG 300-W layout) on ONNX Runtime.

face-api feeds it the detection box, padded to a centred square, 112x112; it returns (x, y) in
[0, 1] of that square. The box may be grown by ``margin`` first (registry option): detectors'
boxes are tighter or looser than face-api's SSD boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from faceprint.analysis.faceapi import load_faceapi_session
from faceprint.landmarkers.base import Box, LandmarkModel
from faceprint.nets.faceapi import INPUT, square_crop


class FaceApi68(LandmarkModel):
    shareable = True

    def _load(self) -> Any:
        return load_faceapi_session(self, "landmarks68", self.device)

    def predict(self, image: np.ndarray, boxes: Sequence[Box], five: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
        if not boxes:
            return []
        self._ensure_loaded()
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        margin = float(self.spec.options.get("margin", 0.0))
        crops, frames = zip(*(square_crop(rgb, b, margin) for b in boxes))
        batch = np.stack(crops)
        out = np.concatenate([self._model.run(["points"], {INPUT: batch[i : i + self.batch_size]})[0]
                              for i in range(0, len(batch), self.batch_size)])  # fmt: skip
        pts = out.reshape(-1, 68, 2)  # (x, y) in [0, 1] of each crop's square
        return [(p * side + np.array([x0, y0])).astype(np.float32) for p, (x0, y0, side) in zip(pts, frames)]
