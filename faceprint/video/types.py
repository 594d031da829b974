"""Typed results of the video path: one :class:`FrameResult` per processed frame, events, the summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from faceprint.types import LANDMARK_NAMES, _plain

EVENTS = ("track_started", "identified", "attributes", "spoof_suspected", "track_ended")


@dataclass(frozen=True, slots=True)
class TrackedFace:
    """A face in one frame and what is known about its track so far.

    Box, landmarks and score are this frame's detection. Identity, attributes and liveness belong to
    the track (decided over its embedded frames, not this frame alone); each ``*_frames`` says how
    many frames the value rests on (0: not decided yet, and the value is None). ``identity`` is the
    gallery's identity, ``"unknown"`` when the closest one is above the threshold, None without a gallery.
    """

    track_id: int
    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None
    identity: str | None = None
    distance: float | None = None
    verified: bool | None = None
    identity_frames: int = 0
    age: float | None = None
    gender: str | None = None
    emotion: str | None = None
    attribute_frames: int = 0
    is_real: bool | None = None
    liveness: float | None = None  # mean P(live) over the track's checked frames
    liveness_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        x1, y1, x2, y2 = self.box
        out: dict[str, Any] = {"track_id": self.track_id, "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
                               "score": self.score}  # fmt: skip
        if self.landmarks is not None:
            out["landmarks"] = {n: p for n, p in zip(LANDMARK_NAMES, self.landmarks)}
        for key in ("identity", "distance", "verified", "identity_frames", "age", "gender", "emotion",
                    "attribute_frames", "is_real", "liveness", "liveness_frames"):  # fmt: skip
            value = getattr(self, key)
            if value is None or (key.endswith("_frames") and value == 0):
                continue
            out[key] = value
        return _plain(out)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a track: ``event`` is one of :data:`EVENTS`; ``data`` holds its fields."""

    event: str
    track_id: int
    frame: int
    timestamp: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain({"event": self.event, "track_id": self.track_id, "frame": self.frame,
                       "timestamp": round(self.timestamp, 4), **self.data})  # fmt: skip


@dataclass(frozen=True, slots=True)
class FrameResult:
    """One processed frame: where it is in the source, its size, the tracked faces and this frame's events.

    ``timings`` are seconds per stage of this frame (detect, track, total).
    """

    index: int
    timestamp: float
    width: int
    height: int
    faces: tuple[TrackedFace, ...]
    events: tuple[Event, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain({"frame": self.index, "timestamp": self.timestamp, "width": self.width, "height": self.height,
                       "faces": [f.to_dict() for f in self.faces], "events": [e.to_dict() for e in self.events],
                       "timings": dict(self.timings)})  # fmt: skip


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """The end of a stream: frames read / processed / dropped (live) / skipped (``every``), tracks, identities."""

    source: str
    frames_read: int
    frames_processed: int
    frames_dropped: int
    frames_skipped: int
    tracks: int
    identities: tuple[str, ...]
    seconds: float
    fps: float
    ended_early: bool = False
    interrupted: bool = False
    output: str | None = None
    codec: str | None = None
    events_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def text(self) -> str:
        who = ", ".join(self.identities) or "none"
        line = (f"{self.source}: {self.frames_read} frame(s) read, {self.frames_processed} processed, "
                f"{self.frames_dropped} dropped, {self.frames_skipped} skipped; {self.tracks} track(s); "
                f"identities: {who}; {self.fps:.1f} fps over {self.seconds:.1f} s")  # fmt: skip
        if self.ended_early:
            line += "; the source ended early (truncated or damaged)"
        if self.interrupted:
            line += "; stopped by the user"
        if self.output:
            line += f"\nannotated video: {self.output} ({self.codec})"
        if self.events_file:
            line += f"\nevents: {self.events_file}"
        return line
