"""YuNet (2023mar), run by OpenCV's ``FaceDetectorYN``, which decodes its outputs.

YuNet's landmarks are the subject's right eye, left eye, nose tip, right and left mouth corners:
in image terms left-to-right, the order faceprint uses.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.detection.base import Detector
from faceprint.types import Face


class YuNet(Detector):
    def _load(self) -> Any:
        score = self.score_cut
        return cv2.FaceDetectorYN.create(
            self.weight_path(self.spec.files[0]), "", (320, 320), score, float(self.options["nms_threshold"]), 5000
        )

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        with self._lock:  # the OpenCV object keeps per-call state (input size)
            self._model.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = self._model.detect(bgr)
        if rows is None:
            return []
        return [
            Face(
                box=(float(r[0]), float(r[1]), float(r[0] + r[2]), float(r[1] + r[3])),
                score=float(r[14]),
                landmarks=r[4:14].reshape(5, 2).astype(np.float32),
                landmarks_source="detector",
            )
            for r in rows
        ]
