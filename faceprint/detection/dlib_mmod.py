"""dlib's MMOD CNN face detector. Boxes only; landmarks are estimated."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.detection.base import Detector
from faceprint.detection.dlib_hog import import_dlib
from faceprint.types import Face


class DlibMMOD(Detector):
    def _load(self) -> Any:
        return import_dlib().cnn_face_detection_model_v1(self.weight_path(self.spec.files[0]))

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        with self._lock:  # a dlib network holds its activations: not safe from two threads at once
            dets = self._model(rgb, int(self.options["upsample"]))
        return [
            Face(box=(d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1), score=float(d.confidence))
            for d in dets
        ]
