"""The landmark-model interface: an image and face boxes in, one (K, 2) point array per face out."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from faceprint.models.runtime import BatchModel
from faceprint.models.specs import LandmarkerSpec, ModelSpec

Box = tuple[float, float, float, float]


class LandmarkModel(BatchModel):
    """A dense landmark model. Subclasses implement :meth:`_load` and :meth:`predict`.

    ``spec.points`` is how many points it gives (68, 468).
    """

    spec: LandmarkerSpec

    def __init__(self, spec: ModelSpec, *, weights: dict[str, str] | None = None, device: str = "cpu",
                 batch_size: int = 32) -> None:  # fmt: skip
        super().__init__(spec, weights=weights, device=device, batch_size=batch_size)

    @property
    def num_points(self) -> int:
        return int(self.spec.points)

    @abstractmethod
    def predict(self, image: np.ndarray, boxes: Sequence[Box], five: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
        """(K, 2) float32 points in image pixels for each face box of a BGR uint8 image.

        ``five``: the faces' 5-point landmarks when known (models that rotate their crop by the eye
        line use them)."""
