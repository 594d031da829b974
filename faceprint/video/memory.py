"""What a track remembers: its best embeddings, smoothed attributes and liveness, and when to embed again."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from faceprint.types import Face, FaceAnalysis


def face_quality(frame: np.ndarray, face: Face) -> float:
    """How good a face is for recognition, relative to other frames of the same track.

    Size (shorter box side) × frontality (nose centred between the eyes) × sharpness (variance of the
    Laplacian of a small grey crop), halved when the box touches the frame border (a face cut off).
    """
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = face.box
    side = max(0.0, min(x2 - x1, y2 - y1))
    frontal = 1.0
    if face.landmarks is not None:
        le, re, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
        eye_d = float(np.hypot(*(re - le))) or 1.0
        off = abs(float(nose[0]) - float(le[0] + re[0]) / 2.0) / eye_d
        frontal = max(0.1, 1.0 - 2.0 * off)
    crop = frame[max(0, int(y1)) : max(0, int(y2)), max(0, int(x1)) : max(0, int(x2))]
    sharp = 0.5
    if crop.size:
        grey = cv2.cvtColor(cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        sharp = min(1.0, float(cv2.Laplacian(grey, cv2.CV_32F).var()) / 300.0)
    edge = 0.5 if x1 <= 1 or y1 <= 1 or x2 >= w - 1 or y2 >= h - 1 else 1.0
    return side * frontal * (0.3 + 0.7 * sharp) * edge


@dataclass
class TrackMemory:
    """Per-track recognition state: the ``keep`` best embeddings by face quality decide the identity."""

    keep: int = 16
    embeddings: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (quality, unit vector)
    embedded: int = 0  # frames embedded so far
    last_embed_frame: int = -(10**9)
    best_quality: float = 0.0
    pending: bool = False
    identity: str | None = None
    distance: float | None = None
    verified: bool | None = None
    ages: deque = field(default_factory=lambda: deque(maxlen=16))
    genders: deque = field(default_factory=lambda: deque(maxlen=16))
    emotions: deque = field(default_factory=lambda: deque(maxlen=8))  # expressions change: a shorter window
    gender_labels: tuple[str, ...] = ()
    emotion_labels: tuple[str, ...] = ()
    attribute_frames: int = 0
    live: deque = field(default_factory=lambda: deque(maxlen=32))
    announced_attributes: tuple[str | None, str | None] | None = None
    spoof_announced: bool = False

    def needs_embedding(self, frame: int, quality: float, every: int, better: float) -> bool:
        if self.pending:
            return False
        if self.embedded == 0:
            return True
        return frame - self.last_embed_frame >= every or quality > better * self.best_quality

    def add_embedding(self, vector: np.ndarray, quality: float, frame: int) -> None:
        self.embeddings.append((quality, np.asarray(vector, np.float32)))
        if len(self.embeddings) > self.keep:  # drop the worst, not the oldest: a bad frame never dominates
            self.embeddings.remove(min(self.embeddings, key=lambda e: e[0]))
        self.embedded += 1
        self.last_embed_frame = frame
        self.best_quality = max(self.best_quality, quality)

    def mean_embedding(self) -> np.ndarray:
        """The mean of the kept embeddings, as the recognizer gives them (the gallery's metric applies)."""
        return np.mean([v for _, v in self.embeddings], axis=0).astype(np.float32)

    def gap(self, vector: np.ndarray) -> float:
        """Euclidean distance between unit ``vector`` and the unit mean: how far a new face is from this track."""
        m = self.mean_embedding()
        u = np.asarray(vector, np.float32) / max(float(np.linalg.norm(vector)), 1e-12)
        return float(np.linalg.norm(u - m / max(float(np.linalg.norm(m)), 1e-12)))

    def add_analysis(self, a: FaceAnalysis) -> None:
        if a.age is not None:
            self.ages.append(float(a.age))
        if a.gender_probabilities:
            self.gender_labels = tuple(a.gender_probabilities)
            self.genders.append(np.array(list(a.gender_probabilities.values()), np.float32))
        if a.emotion_probabilities:
            self.emotion_labels = tuple(a.emotion_probabilities)
            self.emotions.append(np.array(list(a.emotion_probabilities.values()), np.float32))
        self.attribute_frames += 1

    @property
    def age(self) -> float | None:
        return float(np.median(self.ages)) if self.ages else None  # the median shrugs off one wild estimate

    @property
    def gender(self) -> str | None:
        return self.gender_labels[int(np.argmax(np.mean(self.genders, axis=0)))] if self.genders else None

    @property
    def emotion(self) -> str | None:
        return self.emotion_labels[int(np.argmax(np.mean(self.emotions, axis=0)))] if self.emotions else None

    @property
    def liveness(self) -> float | None:
        return float(np.mean(self.live)) if self.live else None
