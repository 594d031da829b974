"""YOLO5Face-0.5 (320x320 ONNX from libfacedetection.train). The graph decodes its own outputs:
rows of (cx, cy, w, h, objectness, 5 landmarks, class score) in input pixels. Input: RGB / 255.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.detection.anchors import to_faces
from faceprint.detection.base import Detector
from faceprint.models.runtime import onnx_session
from faceprint.types import Face

_SIZE = 320


class YOLO5Face(Detector):
    def _load(self) -> Any:
        return onnx_session(self.weight_path(self.spec.files[0]), self.options["device"])

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        h, w = bgr.shape[:2]
        scale = min(1.0, _SIZE / max(h, w))  # the base class already shrank large images; tiny ones stay
        if scale < 1.0:
            bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((_SIZE, _SIZE, 3), np.uint8)
        canvas[: bgr.shape[0], : bgr.shape[1]] = bgr
        blob = (canvas[:, :, ::-1].astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        out = self._model.run(None, {self._model.get_inputs()[0].name: blob})[0][0]
        c, size = out[:, :2], out[:, 2:4]
        boxes = np.hstack([c - size / 2, c + size / 2]) / scale
        kps = out[:, 5:15].reshape(-1, 5, 2) / scale
        thr = self.score_cut
        return to_faces(boxes, out[:, 4] * out[:, 15], kps, thr, float(self.options["nms_threshold"]))
