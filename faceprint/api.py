"""The one-call functions. Each reuses a small cache of :class:`Pipeline` objects keyed by their options."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from faceprint.image import ImageInput
from faceprint.pipeline import Pipeline
from faceprint.types import ExtractedFace, Face, Representation, VerifyResult

DEFAULT_DETECTOR = "mtcnn"
DEFAULT_MODEL = "dlib"


@lru_cache(maxsize=8)
def get_pipeline(
    detector: str = DEFAULT_DETECTOR, model: str = DEFAULT_MODEL, align: str = "template", device: str = "cpu"
) -> Pipeline:
    """A shared Pipeline for these options (models load on first use, then stay loaded)."""
    return Pipeline(detector, model, align=align, device=device)


def verify(
    img1: ImageInput,
    img2: ImageInput,
    *,
    model: str = DEFAULT_MODEL,
    detector: str = DEFAULT_DETECTOR,
    metric: str | None = None,
    threshold: float | None = None,
    align: str = "template",
    faces: str = "largest",
    enforce_detection: bool = True,
    rgb: bool = False,
) -> VerifyResult:
    """Are the faces in ``img1`` and ``img2`` the same person? See :meth:`Pipeline.verify`."""
    return get_pipeline(detector, model, align).verify(
        img1, img2, metric=metric, threshold=threshold, faces=faces, enforce_detection=enforce_detection, rgb=rgb
    )


def represent(
    img: ImageInput,
    *,
    model: str = DEFAULT_MODEL,
    detector: str = DEFAULT_DETECTOR,
    align: str = "template",
    faces: str = "largest",
    enforce_detection: bool = True,
    rgb: bool = False,
) -> list[Representation]:
    """One embedding per face (the largest face by default; ``faces="all"`` for every face)."""
    return get_pipeline(detector, model, align).represent(
        img, faces=faces, enforce_detection=enforce_detection, rgb=rgb
    )


def extract_faces(
    img: ImageInput,
    *,
    model: str = DEFAULT_MODEL,
    detector: str = DEFAULT_DETECTOR,
    align: str = "template",
    faces: str = "all",
    enforce_detection: bool = True,
    rgb: bool = False,
) -> list[ExtractedFace]:
    """Boxes, landmarks and aligned crops (sized for ``model``) of the faces in ``img``."""
    return get_pipeline(detector, model, align).extract_faces(
        img, faces=faces, enforce_detection=enforce_detection, rgb=rgb
    )


def detect(img: ImageInput, *, detector: str = DEFAULT_DETECTOR, **options: Any) -> list[Face]:
    """Faces in ``img``, highest score first. ``options`` go to the detector (min_face_size, max_side, ...)."""
    if options:
        from faceprint.detection import create_detector

        return create_detector(detector, **options).detect(img)
    return get_pipeline(detector).detect(img)
