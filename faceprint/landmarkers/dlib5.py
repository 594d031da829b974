"""dlib's 5-point shape predictor (eye corners and nose base) as a landmark model (registry "dlib5")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from faceprint.alignment import ShapePredictor5, shape_predictor
from faceprint.landmarkers.base import Box, LandmarkModel


class Dlib5(LandmarkModel):
    """Gives dlib's 5-point shape, float64 (5, 2) in image pixels, per face box.

    The loaded predictor is shared by every object that uses the same file
    (:func:`faceprint.alignment.shape_predictor`).
    """

    def _load(self) -> ShapePredictor5:
        return shape_predictor(self.weight_path(self.spec.files[0]))

    def predict(self, image: np.ndarray, boxes: Sequence[Box], five: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
        if not boxes:
            return []
        model: Any = self._ensure_loaded()
        return model.predict(image, boxes)

    def refine(
        self, image: np.ndarray, shapes: Sequence[np.ndarray], boxes: Sequence[Box | None] | None = None,
        anchors: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray]:  # fmt: skip
        """Each first-pass shape run again on :func:`~faceprint.alignment.canonical_box` of the last result
        (up to :data:`~faceprint.alignment.REFINE_PASSES` times, until that box stays put within
        :data:`~faceprint.alignment.REFINE_TOLERANCE`), so the shape
        no longer depends on the detector's box geometry. ``boxes``: the box of each first pass, where known;
        ``anchors``: the detector's own 5 landmarks, checked against a shape that does not settle
        (:meth:`ShapePredictor5.refine <faceprint.alignment.ShapePredictor5.refine>`)."""
        if not shapes:
            return []
        model: Any = self._ensure_loaded()
        return model.refine(image, shapes, boxes, anchors=anchors)
