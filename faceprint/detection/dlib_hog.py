"""dlib's frontal face detector: HOG features + linear SVM. Boxes only; landmarks are estimated."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.detection.base import Detector
from faceprint.errors import DependencyError
from faceprint.types import Face


def import_dlib() -> Any:
    try:
        import dlib
    except ImportError as exc:
        raise DependencyError("dlib is required for this detector: pip install dlib-bin") from exc
    return dlib


class DlibHOG(Detector):
    def _load(self) -> Any:
        return import_dlib().get_frontal_face_detector()

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        with self._lock:  # dlib's detector keeps scratch buffers: two threads at once crash it
            rects, scores, _ = self._model.run(rgb, int(self.options["upsample"]), 0.0)
        return [
            Face(box=(r.left(), r.top(), r.right() + 1, r.bottom() + 1), score=float(s)) for r, s in zip(rects, scores)
        ]
