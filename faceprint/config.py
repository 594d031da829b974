"""One configuration object for a pipeline, taken from the entry points (one-call API, CLI, Gallery,
evaluation, service) down to :class:`faceprint.pipeline.Pipeline`; and the option values it is checked
against, which the command line's shared options reuse.

Cheap to import: no model, no OpenCV.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faceprint.augment import DEFAULT_TTA, TTA_MODES, check_tta
from faceprint.errors import ConfigError, DeviceError
from faceprint.image import DEFAULT_MAX_PIXELS

DEFAULT_DETECTOR = "mtcnn"
DEFAULT_RECOGNIZER = "dlib"
#: "template": 5-point similarity onto the recognizer's template; "eye_line": eyes level, box crop; "none": box crop
ALIGN_MODES = ("template", "eye_line", "none")
#: which faces of an image: the main subject (large and central; faceprint.detection.select), the largest,
#: the best scoring, or all
FACE_POLICIES = ("main", "largest", "best", "all")
DEFAULT_FACES = "main"
DEVICES = ("cpu", "cuda", "auto")
#: ``represent_stream(errors=...)``: "skip" reports a bad image in its result, "raise" stops the stream
STREAM_ERRORS = ("skip", "raise")
DEFAULT_STREAM_ERRORS = "skip"
#: when the detector finds no face, look again on a copy padded by this fraction of its shorter side (edge
#: pixels repeated): a face that fills the frame, as pre-cropped faces do, is missed by MTCNN
#: (docs/accuracy.md, "Faces that fill the frame"); 0 turns it off
DEFAULT_RETRY_PAD = 0.1

__all__ = [
    "ALIGN_MODES", "DEFAULT_DETECTOR", "DEFAULT_FACES", "DEFAULT_RECOGNIZER", "DEFAULT_RETRY_PAD", "DEFAULT_STREAM_ERRORS",
    "DEFAULT_TTA", "DEVICES",
    "FACE_POLICIES", "STREAM_ERRORS", "TTA_MODES", "PipelineConfig", "check_device", "check_faces",
]  # fmt: skip


def check_device(device: str, what: str = "device") -> str:
    if device not in DEVICES:
        raise DeviceError(f"unknown {what} {device!r}; use 'cpu', 'cuda' or 'auto'")
    return device


def check_faces(policy: str) -> str:
    if policy not in FACE_POLICIES:
        raise ConfigError(f"unknown faces policy {policy!r}; use one of {', '.join(FACE_POLICIES)}")
    return policy


def _pairs(options: Mapping[str, Any] | tuple | None, what: str) -> tuple[tuple[str, Any], ...]:
    """Options as sorted (name, value) pairs: hashable where the values are, and order-independent."""
    if options is None:
        return ()
    if isinstance(options, tuple):
        options = dict(options)
    if not isinstance(options, Mapping):
        raise ConfigError(f"{what} must be a dict of options, not {type(options).__name__}")
    return tuple(sorted(options.items()))


@dataclass(frozen=True)
class PipelineConfig:
    """Every setting that decides what a :class:`~faceprint.pipeline.Pipeline` computes.

    Frozen and hashable (when its option values are), so equal settings share one cached pipeline
    (:func:`faceprint.pipeline.get_pipeline`). ``detector`` / ``recognizer`` are registry names, or
    already made model objects (tests pass fakes this way). The ``*_options`` fields take dicts and
    keep them as sorted pairs; :meth:`detector_kwargs` and friends give dicts back.
    """

    detector: Any = DEFAULT_DETECTOR
    recognizer: Any = DEFAULT_RECOGNIZER
    align: str = "template"
    tta: str | None = DEFAULT_TTA
    num_jitters: int = 0
    device: str = "cpu"
    max_pixels: int = DEFAULT_MAX_PIXELS
    normalize: str | None = None
    normalize_landmarks: str = "68"
    reduced_decode: bool = True
    refine_shape: bool = True
    retry_pad: float = DEFAULT_RETRY_PAD
    detector_options: Any = field(default=())
    recognizer_options: Any = field(default=())
    landmark_options: Any = field(default=())
    analysis_models: Any = field(default=())

    def __post_init__(self) -> None:
        if self.align not in ALIGN_MODES:
            raise ConfigError(f"unknown align mode {self.align!r}; use one of {', '.join(ALIGN_MODES)}")
        check_device(self.device)
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "tta", check_tta(self.tta, self.num_jitters))
        if isinstance(self.max_pixels, bool) or not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ConfigError(f"max_pixels must be a whole number >= 1, got {self.max_pixels!r}")
        pad = self.retry_pad
        if isinstance(pad, bool) or not isinstance(pad, numbers.Real) or not 0.0 <= float(pad) <= 1.0:
            raise ConfigError(f"retry_pad must be a fraction of the image's side from 0 to 1, got {pad!r}")
        set_(self, "retry_pad", float(pad))
        for name in ("detector_options", "recognizer_options", "landmark_options", "analysis_models"):
            set_(self, name, _pairs(getattr(self, name), name))
        if "device" in self.detector_kwargs():
            check_device(self.detector_kwargs()["device"], "detector device")

    @classmethod
    def from_options(cls, *, model: Any = None, **options: Any) -> PipelineConfig:
        """A config from keyword options as the one-call API spells them (``model`` is the recognizer)."""
        if model is not None:
            options["recognizer"] = model
        unknown = set(options) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown pipeline option(s) {sorted(unknown)}")
        return cls(**options)

    def replace(self, **changes: Any) -> PipelineConfig:
        """A copy with ``changes`` (``model=`` is accepted for ``recognizer=``)."""
        if "model" in changes:
            changes["recognizer"] = changes.pop("model")
        return dataclasses.replace(self, **changes)

    @property
    def model(self) -> str:
        """The recognizer's name (the one-call API's ``model``)."""
        return self.recognizer if isinstance(self.recognizer, str) else str(getattr(self.recognizer, "name", "?"))

    @property
    def detector_name(self) -> str:
        return self.detector if isinstance(self.detector, str) else str(getattr(self.detector, "name", "?"))

    def detector_kwargs(self) -> dict[str, Any]:
        return dict(self.detector_options)

    def recognizer_kwargs(self) -> dict[str, Any]:
        return dict(self.recognizer_options)

    def landmark_kwargs(self) -> dict[str, Any]:
        return dict(self.landmark_options)

    def analysis_dict(self) -> dict[str, Any] | None:
        return dict(self.analysis_models) or None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (model objects by name), for reports and the service."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["detector"], out["recognizer"] = self.detector_name, self.model
        for name in ("detector_options", "recognizer_options", "landmark_options", "analysis_models"):
            out[name] = dict(out[name])
        return out
