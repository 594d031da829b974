"""The 5-point landmark stage of the pipeline: detect → landmarks → align.

It gives the faces of a box-only detector their 5 landmarks, and a recognizer whose template is
dlib's ("dlib5" scheme) the 5-point shapes it aligns on, running the predictor once per face: the
first-pass shape made for the landmarks travels with the face (``Face.dlib5``) and is reused by
the alignment, which adds only the optional refining pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from faceprint.alignment import dlib5_to_five
from faceprint.landmarkers.base import Box
from faceprint.landmarkers.dlib5 import Dlib5
from faceprint.models.registry import get
from faceprint.types import Face


class FivePointStage:
    """One 5-point landmark model (registry task "landmarks", default "dlib5"), created on first use.

    ``weights``: {file name: path} overrides, as every model takes them.
    """

    def __init__(
        self, name: str = "dlib5", *, weights: dict[str, str] | None = None, device: str = "cpu",
        start: Callable[[Face, tuple[int, int]], Box] | None = None,
    ) -> None:  # fmt: skip
        self.spec = get(name, "landmarks")
        self.weights = dict(weights or {})
        self.device = device
        #: the box a face's first pass runs on (the detector's :meth:`~faceprint.detection.base.Detector.predictor_box`)
        self.start = start
        self._model: Dlib5 | None = None

    def _start(self, face: Face, pixels: np.ndarray) -> Box:
        return self.start(face, (pixels.shape[1], pixels.shape[0])) if self.start is not None else face.box

    @property
    def model(self) -> Dlib5:
        if self._model is None:
            self._model = self.spec.load_class()(self.spec, weights=self.weights, device=self.device)
        return self._model

    def files(self) -> list[str]:
        """Local paths of the model's files (raises WeightsMissingError naming the one missing)."""
        return [self.model.weight_path(wf) for wf in self.spec.files]

    def fill(self, pixels: np.ndarray, faces: Sequence[Face]) -> list[Face]:
        """``faces`` with the 5 landmarks estimated for those that have none (``landmarks_source``
        "shape_predictor"); each such face also keeps the shape they came from (``dlib5``)."""
        todo = [i for i, f in enumerate(faces) if f.landmarks is None]
        out = list(faces)
        if todo:
            shapes = self.model.predict(pixels, [self._start(faces[i], pixels) for i in todo])
            for i, s in zip(todo, shapes):
                out[i] = replace(out[i], landmarks=dlib5_to_five(s), landmarks_source="shape_predictor", dlib5=s)
        return out

    def shapes(self, pixels: np.ndarray, faces: Sequence[Face], *, refine: bool) -> list[np.ndarray]:
        """dlib's 5-point shape of every face in ``pixels``, reusing the first pass :meth:`fill` made;
        ``refine``: run again on the box dlib's HOG detector would draw (:meth:`Dlib5.refine`)."""
        first: list[np.ndarray | None] = [f.dlib5 for f in faces]
        # the box each first pass runs on, where this call makes it (a carried shape's box is not known here)
        boxes: list[Box | None] = [self._start(f, pixels) if f.dlib5 is None else None for f in faces]
        todo = [i for i, b in enumerate(boxes) if b is not None]
        if todo:
            for i, s in zip(todo, self.model.predict(pixels, [boxes[i] for i in todo])):
                first[i] = s
        shapes = [s for s in first if s is not None]
        if not (refine and shapes):
            return shapes
        return self.model.refine(pixels, shapes, boxes, anchors=[_anchor(f) for f in faces])


def _anchor(face: Face) -> np.ndarray | None:
    """The detector's own 5 standard landmarks, which a shape that does not settle is checked against (None
    when the landmarks are the predictor's, or not the standard five)."""
    pts = face.landmarks
    if face.landmarks_source != "detector" or pts is None or np.shape(pts) != (5, 2):
        return None
    return np.asarray(pts, np.float64)
