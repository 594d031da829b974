"""dlib's face recognition ResNet (150x150 RGB chips → 128-d), run by dlib itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.errors import DependencyError, DeviceError
from faceprint.recognition.base import Recognizer


class DlibResNet(Recognizer):
    def _load(self) -> Any:
        try:
            import dlib
        except ImportError as exc:
            raise DependencyError("dlib is required for the 'dlib_bin' recognizer: pip install dlib-bin") from exc
        if self.device not in ("cpu", "auto") and not dlib.DLIB_USE_CUDA:
            raise DeviceError(f"device={self.device!r} asked for, but this dlib build has no CUDA")
        return dlib.face_recognition_model_v1(self.weight_path(self.spec.files[0]))

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        chips = [np.ascontiguousarray(c) for c in batch]
        vecs = self._model.compute_face_descriptor(chips, num_jitters=0)
        return np.asarray([np.asarray(v) for v in vecs], dtype=np.float32)
