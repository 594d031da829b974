"""Typed results of the library API.

Coordinates are pixels of the original (EXIF-rotated) image, x to the right and y down.
Boxes are ``(x1, y1, x2, y2)`` floats. Five-point landmarks are ``(5, 2)`` float32 arrays in
the order: eye on the image's left (the subject's right eye), eye on the image's right,
nose tip, mouth corner on the image's left, mouth corner on the image's right.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def _plain(value: Any) -> Any:
    """numpy → plain Python types, recursively (for JSON)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None
    detector: str = ""
    #: "detector" when the detector gave the landmarks, "shape_predictor" when estimated by dlib's
    #: 5-point model, "" when none.
    landmarks_source: str = ""
    #: anti-spoofing verdict and P(live), filled only when anti_spoofing=True was asked for
    is_real: bool | None = None
    antispoof_score: float | None = None
    #: dlib's 5-point shape (eye corners, nose base; image pixels) when the pipeline's 5-point stage
    #: estimated ``landmarks`` from it, kept so the alignment reuses it instead of running the model again
    dlib5: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def scaled(self, factor: float | tuple[float, float], dx: float = 0.0, dy: float = 0.0) -> Face:
        """The same face with coordinates multiplied by ``factor`` (or x by ``factor[0]`` and y by
        ``factor[1]``) and then shifted."""
        fx, fy = factor if isinstance(factor, tuple) else (factor, factor)
        x1, y1, x2, y2 = self.box
        box = (x1 * fx + dx, y1 * fy + dy, x2 * fx + dx, y2 * fy + dy)
        k = np.array([fx, fy])
        lm = None
        if self.landmarks is not None:
            lm = (self.landmarks * k + np.array([dx, dy], np.float32)).astype(np.float32)
        shape = None if self.dlib5 is None else self.dlib5 * k + np.array([dx, dy])
        return replace(self, box=box, landmarks=lm, dlib5=shape)

    def to_dict(self) -> dict[str, Any]:
        x1, y1, x2, y2 = self.box
        out: dict[str, Any] = {
            "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "w": x2 - x1, "h": y2 - y1},
            "score": self.score,
            "detector": self.detector,
        }
        if self.landmarks is not None:
            out["landmarks"] = {n: _plain(p) for n, p in zip(LANDMARK_NAMES, self.landmarks)}
            out["landmarks_source"] = self.landmarks_source
        if self.is_real is not None:
            out["is_real"], out["antispoof_score"] = self.is_real, self.antispoof_score
        return _plain(out)


@dataclass(frozen=True, slots=True)
class ExtractedFace:
    """A detected face with its aligned crop (BGR uint8, the recognizer's input size)."""

    face: Face
    crop: np.ndarray
    source: str
    #: dense landmarks (and head pose) when asked for with ``landmarks="68"`` / ``"468"``
    landmarks: FaceLandmarks | None = None
    #: face quality in [0, 1] (size, pose, sharpness, exposure; :mod:`faceprint.quality`)
    quality: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"face": self.face.to_dict(), "crop_shape": list(self.crop.shape), "source": self.source}
        if self.landmarks is not None:
            out["landmarks"] = self.landmarks.to_dict()
        if self.quality is not None:
            out["quality"] = float(self.quality)
        return out


@dataclass(frozen=True, slots=True)
class Representation:
    """One face's embedding and where it came from."""

    embedding: np.ndarray
    face: Face
    model: str
    detector: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return _plain(
            {
                "embedding": self.embedding,
                "face": self.face.to_dict(),
                "model": self.model,
                "detector": self.detector,
                "source": self.source,
            }
        )


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One image of a stream: its faces' embeddings, or why it has none (``error``; only with ``errors="skip"``)."""

    source: str
    representations: list[Representation]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "representations": [r.to_dict() for r in self.representations], "error": self.error}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The answer of :func:`faceprint.verify`. ``timings`` are seconds per stage."""

    verified: bool
    distance: float
    threshold: float
    metric: str
    model: str
    detector: str
    faces: tuple[Face, Face]
    timings: dict[str, float] = field(default_factory=dict)
    #: P(same person), from a calibration fitted with ``faceprint tune --write``; None without one.
    probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(
            {
                "verified": self.verified,
                "distance": self.distance,
                "threshold": self.threshold,
                "metric": self.metric,
                "model": self.model,
                "detector": self.detector,
                "faces": [f.to_dict() for f in self.faces],
                "timings": dict(self.timings),
                "probability": self.probability,
            }
        )


@dataclass(frozen=True, slots=True)
class FaceAnalysis:
    """Attributes of one face from :func:`faceprint.analyze`; fields of actions not asked for are None."""

    face: Face
    source: str
    age: float | None = None
    gender: str | None = None  # "woman" | "man"
    gender_probabilities: dict[str, float] | None = None
    emotion: str | None = None  # the most probable of the 7 FER-2013 classes
    emotion_probabilities: dict[str, float] | None = None
    race: str | None = None
    race_probabilities: dict[str, float] | None = None
    #: action → registry name of the model that answered it
    models: dict[str, str] = field(default_factory=dict)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.face.box

    @property
    def is_real(self) -> bool | None:
        return self.face.is_real

    @property
    def antispoof_score(self) -> float | None:
        return self.face.antispoof_score

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"face": self.face.to_dict(), "source": self.source}
        for key in ("age", "gender", "gender_probabilities", "emotion", "emotion_probabilities", "race",
                    "race_probabilities", "is_real", "antispoof_score"):  # fmt: skip
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["models"] = dict(self.models)
        return _plain(out)


@dataclass(frozen=True, slots=True)
class FaceLandmarks:
    """Dense landmarks of one face (68-point iBUG layout or FaceMesh 468): ``points`` (K, 2) float32
    image pixels; ``pose`` (yaw, pitch, roll) in degrees when computed (see :mod:`faceprint.landmarkers.pose`)."""

    face: Face
    points: np.ndarray
    model: str
    pose: tuple[float, float, float] | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"face": self.face.to_dict(), "model": self.model, "points": _plain(self.points),
                               "source": self.source}  # fmt: skip
        if self.pose is not None:
            out["pose"] = dict(zip(("yaw", "pitch", "roll"), (float(v) for v in self.pose)))
        return out
