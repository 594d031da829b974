"""The one-call functions. Each reuses a small cache of :class:`Pipeline` objects keyed by their config.

Every function takes its pipeline settings as keywords (``model``, ``detector``, ``align``, ``device``, ...)
or whole as ``config=`` (a :class:`faceprint.config.PipelineConfig`); not both.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from faceprint.augment import DEFAULT_TTA
from faceprint.config import DEFAULT_FACES, DEFAULT_STREAM_ERRORS, PipelineConfig
from faceprint.errors import ConfigError
from faceprint.image import DEFAULT_MAX_PIXELS, ImageInput, iter_images
from faceprint.pipeline import DEFAULT_DETECTOR, DEFAULT_MODEL, Pipeline, get_pipeline
from faceprint.types import ExtractedFace, Face, FaceAnalysis, FaceLandmarks, ImageResult, Representation, VerifyResult

_DEFAULTS = {"model": DEFAULT_MODEL, "detector": DEFAULT_DETECTOR, "align": "template", "tta": DEFAULT_TTA,
             "num_jitters": 0, "device": "cpu", "max_pixels": DEFAULT_MAX_PIXELS}  # fmt: skip


def _pipeline(config: PipelineConfig | None, **settings: Any) -> Pipeline:
    """The shared pipeline for ``config``, or for the keyword settings when there is no config."""
    if config is None:
        return get_pipeline(PipelineConfig.from_options(**settings))
    if not isinstance(config, PipelineConfig):
        raise ConfigError(f"config must be a faceprint.config.PipelineConfig, not {type(config).__name__}")
    changed = sorted(k for k, v in settings.items() if v != _DEFAULTS[k])
    if changed:
        raise ConfigError(f"pass the pipeline settings either in config= or as keywords, not both (got {changed})")
    return get_pipeline(config)


def verify(
    img1: ImageInput,
    img2: ImageInput,
    *,
    model: str = DEFAULT_MODEL,
    detector: str = DEFAULT_DETECTOR,
    metric: str | None = None,
    threshold: float | None = None,
    align: str = "template",
    tta: str | None = DEFAULT_TTA,
    num_jitters: int = 0,
    faces: str = DEFAULT_FACES,
    enforce_detection: bool = True,
    rgb: bool = False,
    anti_spoofing: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    device: str = "cpu",
    config: PipelineConfig | None = None,
) -> VerifyResult:
    """Are the faces in ``img1`` and ``img2`` the same person? See :meth:`Pipeline.verify`.

    ``tta``: "flip" (default) averages each face's embedding with its mirror image's, "none" does not;
    ``num_jitters`` adds that many jittered copies. ``anti_spoofing=True`` raises
    :class:`faceprint.errors.SpoofError` when a face is judged spoofed. ``device``: "cpu" (default),
    "cuda" or "auto" for every model.
    """
    pipe = _pipeline(config, model=model, detector=detector, align=align, tta=tta, num_jitters=num_jitters,
                     device=device, max_pixels=max_pixels)  # fmt: skip
    return pipe.verify(
        img1, img2, metric=metric, threshold=threshold, faces=faces, enforce_detection=enforce_detection, rgb=rgb,
        anti_spoofing=anti_spoofing,
    )  # fmt: skip


def represent(
    img: ImageInput,
    *,
    model: str = DEFAULT_MODEL,
    detector: str = DEFAULT_DETECTOR,
    align: str = "template",
    tta: str | None = DEFAULT_TTA,
    num_jitters: int = 0,
    faces: str = DEFAULT_FACES,
    enforce_detection: bool = True,
    rgb: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_quality: float | None = None,
    device: str = "cpu",
    config: PipelineConfig | None = None,
) -> list[Representation]:
    """One embedding per face: the photo's main face by default (large and central), every face with
    ``faces="all"``; ``tta`` as in :func:`verify`.

    ``min_quality`` leaves out faces whose quality score (:mod:`faceprint.quality`) is lower."""
    pipe = _pipeline(config, model=model, detector=detector, align=align, tta=tta, num_jitters=num_jitters,
                     device=device, max_pixels=max_pixels)  # fmt: skip
    return pipe.represent(
        img, faces=faces, enforce_detection=enforce_detection, rgb=rgb, min_quality=min_quality
    )


def represent_stream(
    images: Iterable[ImageInput] | str | os.PathLike,
    *,
    model: str = DEFAULT_MODEL,
    detector: str = DEFAULT_DETECTOR,
    align: str = "template",
    tta: str | None = DEFAULT_TTA,
    num_jitters: int = 0,
    batch_size: int = 32,
    workers: int = 2,
    faces: str = DEFAULT_FACES,
    enforce_detection: bool = True,
    errors: str = DEFAULT_STREAM_ERRORS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    device: str = "cpu",
    config: PipelineConfig | None = None,
) -> Iterator[ImageResult]:
    """Embeddings of many images (an iterable, or a folder searched recursively), streamed in order.

    Faces are embedded in batches while worker threads prepare the next images; see
    :meth:`Pipeline.represent_stream`. Bad images are reported in the results (``errors="skip"``).
    """
    pipe = _pipeline(config, model=model, detector=detector, align=align, tta=tta, num_jitters=num_jitters,
                     device=device, max_pixels=max_pixels)  # fmt: skip
    if isinstance(images, (str, os.PathLike)):
        images = iter_images(images)
    return pipe.represent_stream(
        images, batch_size=batch_size, workers=workers, faces=faces, enforce_detection=enforce_detection, errors=errors
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
    anti_spoofing: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    landmarks: str | None = None,
    device: str = "cpu",
    config: PipelineConfig | None = None,
) -> list[ExtractedFace]:
    """Boxes, landmarks and aligned crops (sized for ``model``) of the faces in ``img``.

    ``anti_spoofing=True`` fills each face's ``is_real`` and ``antispoof_score``; ``landmarks="68"``
    or ``"468"`` adds dense landmarks with head pose. Every face carries a ``quality`` score.
    """
    pipe = _pipeline(config, model=model, detector=detector, align=align, device=device, max_pixels=max_pixels)
    return pipe.extract_faces(
        img, faces=faces, enforce_detection=enforce_detection, rgb=rgb, anti_spoofing=anti_spoofing,
        landmarks=landmarks,
    )  # fmt: skip


def landmarks(
    img: ImageInput, *, model: str = "68", detector: str = DEFAULT_DETECTOR, faces: str = "all",
    enforce_detection: bool = True, rgb: bool = False, device: str = "cpu", config: PipelineConfig | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[FaceLandmarks]:  # fmt: skip
    """Dense landmarks of every face: ``model`` "68" (face-api, iBUG layout) or "468" (MediaPipe
    FaceMesh), each with (yaw, pitch, roll) head pose in degrees."""
    return _pipeline(config, detector=detector, device=device, max_pixels=max_pixels).landmarks(img, model=model, faces=faces, enforce_detection=enforce_detection, rgb=rgb)


def analyze(
    img: ImageInput,
    *,
    actions: str | Sequence[str] | None = ("age", "gender", "emotion"),
    detector: str = DEFAULT_DETECTOR,
    anti_spoofing: bool = False,
    faces: str = "all",
    enforce_detection: bool = True,
    skip_detection: bool = False,
    rgb: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    device: str = "cpu",
    config: PipelineConfig | None = None,
) -> list[FaceAnalysis]:
    """Age, gender and emotion of every face in ``img`` (``actions`` may add "race"). See :meth:`Pipeline.analyze`.

    Race runs deepface's model, which is downloaded on first use: offline it raises
    :class:`faceprint.errors.WeightsMissingError` naming the file and where to put it.
    """
    return _pipeline(config, detector=detector, device=device, max_pixels=max_pixels).analyze(
        img, actions=actions, anti_spoofing=anti_spoofing, faces=faces, enforce_detection=enforce_detection,
        skip_detection=skip_detection, rgb=rgb,
    )  # fmt: skip


def detect(
    img: ImageInput, *, detector: str = DEFAULT_DETECTOR, max_pixels: int = DEFAULT_MAX_PIXELS, device: str = "cpu",
    config: PipelineConfig | None = None, **options: Any,
) -> list[Face]:  # fmt: skip
    """Faces in ``img``, highest score first. ``options`` go to the detector (min_face_size, max_side, ...)."""
    if options:  # a Pipeline of its own, whose landmark stage adds the 5 landmarks box-only detectors lack
        if config is not None:
            raise ConfigError("detector options go in config=PipelineConfig(detector_options=...) when config= is given")
        return Pipeline(detector, detector_options=options, device=device, max_pixels=max_pixels).detect(img)
    return _pipeline(config, detector=detector, device=device, max_pixels=max_pixels).detect(img)
