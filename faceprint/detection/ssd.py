"""OpenCV's res10 SSD face detector (TensorFlow uint8 form), run by ``cv2.dnn`` at 300x300.

Boxes only; landmarks are estimated with dlib's shape predictor.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.detection.base import Detector
from faceprint.types import Face


class OpenCVSSD(Detector):
    def _load(self) -> Any:
        pb, pbtxt = (self.weight_path(wf) for wf in self.spec.files[:2])
        return cv2.dnn.readNetFromTensorflow(pb, pbtxt)

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        h, w = bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(bgr, 1.0, (300, 300), (104.0, 177.0, 123.0), swapRB=False, crop=False)
        with self._lock:  # a cv2.dnn.Net is not safe to run from two threads at once
            self._model.setInput(blob)
            out = self._model.forward()[0, 0]
        thr = self.score_cut
        out = out[out[:, 2] >= thr]
        return [Face(box=(r[3] * w, r[4] * h, r[5] * w, r[6] * h), score=float(r[2])) for r in out]
