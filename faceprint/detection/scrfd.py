"""SCRFD-0.5GF with 5 landmarks (insightface), ONNX. Outputs per stride 8/16/32: scores, distances, keypoints."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.detection.anchors import grid_centers, pad_to_stride, to_faces
from faceprint.detection.base import Detector
from faceprint.models.runtime import onnx_session
from faceprint.types import Face

_STRIDES = (8, 16, 32)


class SCRFD(Detector):
    def _load(self) -> Any:
        return onnx_session(self.weight_path(self.spec.files[0]), self.options["device"])

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        img = pad_to_stride(bgr)
        h, w = img.shape[:2]
        blob = ((img[:, :, ::-1].astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
        outs = dict(zip([o.name for o in self._model.get_outputs()], self._model.run(None, {self._model.get_inputs()[0].name: blob})))
        boxes, scores, kps = [], [], []
        for s in _STRIDES:
            c = grid_centers(h, w, s, 2)
            dist = outs[f"bbox_{s}"].reshape(-1, 4) * s
            boxes.append(np.hstack([c - dist[:, :2], c + dist[:, 2:]]))
            scores.append(outs[f"score_{s}"].reshape(-1))
            kps.append(c[:, None, :] + outs[f"kps_{s}"].reshape(-1, 5, 2) * s)
        thr = self.score_cut
        return to_faces(np.vstack(boxes), np.concatenate(scores), np.vstack(kps), thr, float(self.options["nms_threshold"]))
