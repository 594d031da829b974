"""Old import path of the model registry, kept for users' code: it lives in :mod:`faceprint.models`.

Nothing inside faceprint imports this module.
"""

from __future__ import annotations

from faceprint.models.attributes import EMOTION_LABELS, GENDER_LABELS, RACE_LABELS
from faceprint.models.landmarkers import DLIB_SHAPE_5
from faceprint.models.registry import find, get, register, required_files, specs
from faceprint.models.specs import (
    METRICS,
    Alignment,
    AttributeSpec,
    DetectorSpec,
    LandmarkerSpec,
    ModelSpec,
    RecognizerSpec,
    WeightFile,
)
from faceprint.models.templates import DLIB5_UNIT

__all__ = ["DLIB5_UNIT", "DLIB_SHAPE_5", "EMOTION_LABELS", "GENDER_LABELS", "METRICS", "RACE_LABELS", "Alignment",
           "AttributeSpec", "DetectorSpec", "LandmarkerSpec", "ModelSpec", "RecognizerSpec", "WeightFile", "find", "get",
           "register", "required_files", "specs"]  # fmt: skip
