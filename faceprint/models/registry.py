"""The model registry: one entry per model, the one place that knows each model's facts.

Every other module asks the registry (input size, colour order, thresholds, weight files ...)
instead of branching on model names. The entries live in one file per family (this package's
``detectors``, ``landmarkers``, ``recognizers``, ``deepface``, ``attributes``, ``faceapi``);
:func:`register` adds one at run time.
"""

from __future__ import annotations

import re

from faceprint.errors import ConfigError, ModelNotFoundError
from faceprint.models.attributes import ATTRIBUTES
from faceprint.models.deepface import DEEPFACE
from faceprint.models.detectors import DETECTORS
from faceprint.models.faceapi import ENSEMBLE, FACEAPI
from faceprint.models.landmarkers import DLIB5, FACEMESH
from faceprint.models.recognizers import DLIB, ONNX_CAFFE
from faceprint.models.specs import DetectorSpec, ModelSpec, RecognizerSpec, WeightFile

# the order is the listing order of `faceprint models list` (and, per task, which entry an alias shared
# by two of them finds: the first)
_SPECS: list[ModelSpec] = [*DLIB, *DETECTORS, *ATTRIBUTES, *DEEPFACE, *ONNX_CAFFE, *FACEAPI, FACEMESH, *ENSEMBLE, DLIB5]


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


_INDEX: dict[tuple[str, str], ModelSpec] = {}


def _add(spec: ModelSpec) -> None:
    for alias in (spec.name, *spec.aliases):
        _INDEX.setdefault((spec.task, _key(alias)), spec)


for _spec in _SPECS:
    _add(_spec)


def register(spec: ModelSpec) -> None:
    """Add ``spec`` to the registry (e.g. a model of your own); its name must be new for its task."""
    if not isinstance(spec, ModelSpec):
        raise ConfigError(f"register() takes a ModelSpec, got {type(spec).__name__}")
    if (spec.task, _key(spec.name)) in _INDEX:
        raise ConfigError(f"a {spec.task} named {spec.name!r} is already registered")
    _SPECS.append(spec)
    _add(spec)


def get(name: str, task: str) -> ModelSpec:
    """The spec of ``name`` (any alias, case-insensitive) for ``task``."""
    if not isinstance(name, str):
        raise ModelNotFoundError(f"model name must be a string, got {type(name).__name__}")
    spec = _INDEX.get((task, _key(name)))
    if spec is None:
        known = ", ".join(s.name for s in _SPECS if s.task == task)
        raise ModelNotFoundError(f"unknown {task} {name!r}; known: {known}")
    return spec


def specs(task: str | None = None) -> list[ModelSpec]:
    return [s for s in _SPECS if task is None or s.task == task]


def find(name: str) -> ModelSpec:
    """The spec of ``name`` whatever its task (the first task that knows it, recognizers first)."""
    for task in dict.fromkeys(s.task for s in _SPECS):
        spec = _INDEX.get((task, _key(name)))
        if spec is not None:
            return spec
    raise ModelNotFoundError(f"unknown model {name!r}; known: {', '.join(s.name for s in _SPECS)}")


def landmarker_for_scheme(scheme: str) -> ModelSpec | None:
    """The landmark model whose points an alignment ``scheme`` needs ("dlib5"), or None ("five": the face's own)."""
    return next((s for s in _SPECS if s.task == "landmarks" and getattr(s, "scheme", "") == scheme), None)


def companions(spec: ModelSpec) -> list[ModelSpec]:
    """The landmark models the pipeline runs for ``spec``: a box-only detector's, a recognizer's scheme's."""
    out: list[ModelSpec] = []
    if isinstance(spec, DetectorSpec) and spec.landmarker:
        out.append(get(spec.landmarker, "landmarks"))
    if isinstance(spec, RecognizerSpec) and spec.alignment is not None:
        lm = landmarker_for_scheme(spec.alignment.scheme)
        if lm is not None and lm not in out:
            out.append(lm)
    return out


def required_files(spec: ModelSpec) -> tuple[WeightFile, ...]:
    """Every file a model needs in a pipeline: its own, then those of the landmark models it relies on."""
    files = list(spec.files)
    for other in companions(spec):
        files += [wf for wf in other.files if wf not in files]
    return tuple(files)
