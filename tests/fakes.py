"""Deterministic fakes of a detector and a recognizer: no weights, no ../shared. For unit tests of the
logic around the models (Pipeline, Gallery, evaluation, service), passed through the instance
pass-through of ``create_detector`` / ``create_recognizer`` (a model object is used as given).

The fake world: a "face" is a bright square on a dark image. FakeDetector finds it (the bounding box of
the bright pixels, with five landmarks at fixed places inside), and FakeRecognizer's embedding is the
face's mean colour in its top and bottom halves, so two images of squares painted alike are the
"same person" and squares of other colours are someone else. Mirror images embed the same, so
test-time augmentation changes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.detection.base import Detector
from faceprint.models.specs import Alignment, DetectorSpec, RecognizerSpec
from faceprint.recognition.base import Recognizer
from faceprint.types import Face

#: the five landmarks (eyes, nose, mouth corners) as fractions of the face box, and where they go in the crop
_FIVE = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.35, 0.75], [0.65, 0.75]])
CROP = 32

DETECTOR_SPEC = DetectorSpec(name="fake_detector", task="detector", implementation="tests.fakes:FakeDetector",
                          landmarks=True, max_side=None, license="test fake")  # fmt: skip


def recognizer_spec(name: str = "fake", thresholds: dict[str, float] | None = None) -> RecognizerSpec:
    """A recognizer spec; ``thresholds=None`` gives the registry's default cosine threshold (0.05),
    ``{}`` a model without one (as arcface_mbf has none)."""
    return RecognizerSpec(
        name=name, task="recognizer", implementation="tests.fakes:FakeRecognizer", license="test fake",
        input_size=(CROP, CROP), color="BGR", embedding_dim=8,
        alignment=Alignment((CROP, CROP), "five", tuple((float(x * CROP), float(y * CROP)) for x, y in _FIVE)),
        thresholds={"cosine": 0.05} if thresholds is None else thresholds, default_metric="cosine",
    )  # fmt: skip


class FakeDetector(Detector):
    """The bounding box of the pixels brighter than ``level`` (any channel); no face when there are none."""

    def __init__(self, level: int = 100, **options: Any) -> None:
        super().__init__(DETECTOR_SPEC, **options)
        self.level = level
        self.calls = 0

    def _load(self) -> Any:
        return True

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        self.calls += 1
        ys, xs = np.nonzero(bgr.max(axis=2) > self.level)
        if len(xs) == 0:
            return []
        x1, y1, x2, y2 = float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)
        pts = np.array([x1, y1]) + _FIVE * np.array([x2 - x1, y2 - y1])
        return [Face(box=(x1, y1, x2, y2), score=0.99, landmarks=pts.astype(np.float32), detector=self.name)]


class FakeRecognizer(Recognizer):
    """8-d embedding: mean B, G, R of the crop's top and bottom halves, then two constants."""

    def __init__(self, spec: RecognizerSpec | None = None, **options: Any) -> None:
        super().__init__(spec or recognizer_spec(), **options)
        self.batches: list[int] = []

    def _load(self) -> Any:
        return True

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(len(batch))
        h = batch.shape[1] // 2
        top = batch[:, 4:h, 4:-4].reshape(len(batch), -1, 3).mean(1)
        bottom = batch[:, h:-4, 4:-4].reshape(len(batch), -1, 3).mean(1)
        return np.concatenate([top, bottom, np.full((len(batch), 2), 16.0)], axis=1).astype(np.float32)


def face_image(top: tuple[int, int, int], bottom: tuple[int, int, int] | None = None, *, size: int = 160,
               box: tuple[int, int, int, int] = (40, 30, 120, 130)) -> np.ndarray:  # fmt: skip
    """A BGR image holding one fake face: a square painted ``top`` over ``bottom`` (each channel > 100 somewhere)."""
    img = np.zeros((size, size, 3), np.uint8)
    x1, y1, x2, y2 = box
    mid = (y1 + y2) // 2
    img[y1:mid, x1:x2] = top
    img[mid:y2, x1:x2] = bottom if bottom is not None else top
    return img


#: three fake people, by paint
PEOPLE = {
    "ann": ((220, 120, 110), (120, 110, 220)),
    "bob": ((110, 220, 120), (220, 220, 110)),
    "cy": ((250, 250, 250), (110, 110, 110)),
}


#: a dlib 5-point shape (right-eye corners, left-eye corners, nose base) of a ~70 px face, for predictor fakes
SHAPE5 = np.array([[160.0, 100.0], [140.0, 101.0], [90.0, 102.0], [110.0, 101.0], [125.0, 150.0]])


class DlibPart:
    """A point as dlib's ``full_object_detection.parts()`` gives it."""

    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y


class FakeDlib:
    """The one piece of the dlib module ``ShapePredictor5`` uses: ``rectangle``, here a plain tuple."""

    @staticmethod
    def rectangle(*r: int) -> tuple[int, ...]:
        return r


def scripted_predictor(answer: Any) -> tuple[Any, list[tuple[int, ...]]]:
    """``ShapePredictor5``'s own loop on a fake predictor whose shape for a rect is ``answer(rect)``, and the
    list of the rects it was run on."""
    from faceprint.alignment import ShapePredictor5

    calls: list[tuple[int, ...]] = []

    class Shape:
        def __init__(self, pts: np.ndarray) -> None:
            self.pts = pts

        def parts(self) -> list[DlibPart]:
            return [DlibPart(x, y) for x, y in self.pts]

    pred = object.__new__(ShapePredictor5)
    pred._dlib = FakeDlib
    pred._predictor = lambda img, rect: calls.append(rect) or Shape(answer(rect))
    return pred, calls
