"""The dense-landmark stage: one landmark model per name, created on first use, run on detected faces."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceprint.landmarkers import create_landmarker
from faceprint.landmarkers.base import LandmarkModel
from faceprint.landmarkers.pose import head_pose
from faceprint.types import Face, FaceLandmarks


class LandmarkStage:
    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._models: dict[str, LandmarkModel] = {}

    def model(self, name: str) -> LandmarkModel:
        if name not in self._models:
            self._models[name] = create_landmarker(name, device=self.device)
        return self._models[name]

    def run(self, pixels: np.ndarray, faces: Sequence[Face], name: str = "68", source: str = "",
            pose: bool = True) -> list[FaceLandmarks]:  # fmt: skip
        """Dense landmarks (and head pose) of ``faces`` in one BGR image."""
        if not faces:
            return []
        m = self.model(name)
        pts = m.predict(pixels, [f.box for f in faces], [f.landmarks for f in faces])
        size = (pixels.shape[1], pixels.shape[0])
        return [FaceLandmarks(f, p, m.name, head_pose(p, size) if pose else None, source) for f, p in zip(faces, pts)]
