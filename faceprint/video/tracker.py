"""A multi-face tracker: Kalman motion + IoU association, in the manner of SORT and ByteTrack.

Written here rather than taken from ``supervision`` or ``norfair``: both pull in a second OpenCV build
(``opencv-python``, which clashes with our ``opencv-python-headless``) and more; the assignment itself is
scipy's ``linear_sum_assignment``. Association runs in stages: confident detections against every live
track by IoU with the Kalman-predicted box; then weak detections against the tracks still unmatched
(ByteTrack's second stage); then, for tracks lost for a while (an occlusion), by centre distance relative
to the face size, since the prediction drifts. A track is reported once it has ``min_hits`` hits and is
deleted after ``max_age`` frames without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from faceprint.errors import ConfigError, DependencyError
from faceprint.types import Face

Box = tuple[float, float, float, float]


def _assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        raise DependencyError("tracking needs scipy: pip install 'faceprint[video]'") from None
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= max_cost]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), boxes as x1, y1, x2, y2."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class KalmanBox:
    """Constant-velocity Kalman filter on (centre x, centre y, width, height)."""

    _F = np.eye(8)
    _F[:4, 4:] = np.eye(4)
    _H = np.eye(4, 8)

    def __init__(self, box: Box) -> None:
        x1, y1, x2, y2 = box
        w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        self.x = np.array([(x1 + x2) / 2, (y1 + y2) / 2, w, h, 0, 0, 0, 0], np.float64)
        s = max(w, h)
        self.P = np.diag([s, s, s, s, 10 * s, 10 * s, 10 * s, 10 * s]) ** 2 / 100.0

    def _noise(self) -> tuple[np.ndarray, np.ndarray]:
        s = max(self.x[2], self.x[3], 1.0)  # noise scales with the face size (as in ByteTrack's filter)
        q = np.array([0.05, 0.05, 0.05, 0.05, 0.01, 0.01, 0.01, 0.01]) * s
        r = np.array([0.05, 0.05, 0.05, 0.05]) * s
        return np.diag(q**2), np.diag(r**2)

    def predict(self) -> None:
        q, _ = self._noise()
        self.x = self._F @ self.x
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        self.P = self._F @ self.P @ self._F.T + q

    def update(self, box: Box) -> None:
        x1, y1, x2, y2 = box
        z = np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], np.float64)
        _, r = self._noise()
        y = z - self._H @ self.x
        s = self._H @ self.P @ self._H.T + r
        k = self.P @ self._H.T @ np.linalg.inv(s)
        self.x = self.x + k @ y
        self.P = (np.eye(8) - k @ self._H) @ self.P

    def damp(self) -> None:
        """Slow the motion down while the face is unseen, so the prediction does not run off."""
        self.x[4:] *= 0.9

    @property
    def box(self) -> Box:
        cx, cy, w, h = self.x[:4]
        return (float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2))


@dataclass
class Track:
    """One tracked face (mutable tracker state; results carry copies of what they need)."""

    id: int
    face: Face
    kalman: KalmanBox
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    hits: int = 1
    misses: int = 0  # consecutive frames without a detection
    confirmed: bool = False
    extra: dict = field(default_factory=dict)  # per-track state of the recognition layer

    @property
    def box(self) -> Box:
        return self.face.box if self.misses == 0 else self.kalman.box


class Tracker:
    """Assigns a stable ``track_id`` to each face across frames.

    Args:
        iou_threshold: lowest IoU between a predicted track box and a detection to match them.
        high_score: detections scoring at least this are matched first and may start tracks;
            weaker ones only continue existing tracks (ByteTrack's rule).
        min_hits: detections a new track needs before it is reported (filters one-frame false positives).
        max_age: frames a track survives without a detection (occlusion, missed detections).
        reid_distance: a lost track is re-found by a detection whose centre lies within this many
            face widths of the predicted centre, of similar size.
    """

    def __init__(self, *, iou_threshold: float = 0.3, high_score: float = 0.75, min_hits: int = 2,
                 max_age: int = 30, reid_distance: float = 1.0) -> None:  # fmt: skip
        if not 0.0 < iou_threshold < 1.0:
            raise ConfigError(f"iou_threshold must be within (0, 1), got {iou_threshold}")
        if min_hits < 1 or max_age < 0:
            raise ConfigError(f"min_hits must be >= 1 and max_age >= 0, got {min_hits} and {max_age}")
        self.iou_threshold = iou_threshold
        self.high_score = high_score
        self.min_hits = min_hits
        self.max_age = max_age
        self.reid_distance = reid_distance
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, faces: Sequence[Face], frame: int, timestamp: float) -> tuple[list[Track], list[Track]]:
        """Match this frame's detections; returns (tracks seen in this frame and confirmed, tracks that ended)."""
        for t in self.tracks:
            t.kalman.predict()
            if t.misses:
                t.kalman.damp()
        dets = list(faces)
        high = [i for i, f in enumerate(dets) if f.score >= self.high_score]
        low = [i for i, f in enumerate(dets) if f.score < self.high_score]
        matched: dict[int, int] = {}  # track index → detection index
        free_tracks = list(range(len(self.tracks)))
        for pool in (high, low):
            pairs = self._match_iou(free_tracks, pool, dets)
            matched.update(pairs)
            free_tracks = [t for t in free_tracks if t not in pairs]
        used = set(matched.values())
        lost = [t for t in free_tracks if self.tracks[t].misses > 0 and self.tracks[t].confirmed]
        pairs = self._match_centre(lost, [i for i in high if i not in used], dets)
        matched.update(pairs)
        used |= set(pairs.values())

        for ti, di in matched.items():
            t = self.tracks[ti]
            t.kalman.update(dets[di].box)
            t.face, t.hits, t.misses = dets[di], t.hits + 1, 0
            t.last_frame, t.last_time = frame, timestamp
            t.confirmed = t.confirmed or t.hits >= self.min_hits
        ended: list[Track] = []
        keep: list[Track] = []
        for ti, t in enumerate(self.tracks):
            if ti not in matched:
                t.misses += 1
                # an unconfirmed track that misses once was noise; a confirmed one gets max_age frames
                if not t.confirmed or t.misses > self.max_age:
                    if t.confirmed:
                        ended.append(t)
                    continue
            keep.append(t)
        for di in high:
            if di not in used:
                t = Track(self._next_id, dets[di], KalmanBox(dets[di].box), frame, frame, timestamp, timestamp)
                t.confirmed = self.min_hits <= 1
                self._next_id += 1
                keep.append(t)
        self.tracks = keep
        visible = [t for t in self.tracks if t.confirmed and t.misses == 0]
        return visible, ended

    def coast(self, frame: int, timestamp: float) -> list[Track]:
        """Advance every track on its prediction without a detection (a frame the detector skipped).

        Tracks seen at the last detection move their box and landmarks by the predicted shift; they keep
        their hit counts, so skipped frames neither confirm nor age a track. Returns those tracks.
        """
        out = []
        for t in self.tracks:
            before = t.kalman.box
            t.kalman.predict()
            if t.misses or not t.confirmed:
                continue
            after = t.kalman.box
            sx = (after[2] - after[0]) / max(before[2] - before[0], 1e-6)
            sy = (after[3] - after[1]) / max(before[3] - before[1], 1e-6)
            x1, y1 = t.face.box[0], t.face.box[1]
            lm = None
            if t.face.landmarks is not None:
                lm = ((t.face.landmarks - np.array([x1, y1], np.float32)) * np.array([sx, sy], np.float32)
                      + np.array([after[0], after[1]], np.float32)).astype(np.float32)  # fmt: skip
            t.face = replace(t.face, box=after, landmarks=lm, dlib5=None)  # the old frame's shape is not this one's
            t.last_frame, t.last_time = frame, timestamp
            out.append(t)
        return out

    def _match_iou(self, tracks: list[int], dets_idx: list[int], dets: list[Face]) -> dict[int, int]:
        if not tracks or not dets_idx:
            return {}
        tb = np.array([self.tracks[t].kalman.box for t in tracks])
        db = np.array([dets[i].box for i in dets_idx])
        cost = 1.0 - iou_matrix(tb, db)
        return {tracks[r]: dets_idx[c] for r, c in _assign(cost, 1.0 - self.iou_threshold)}

    def _match_centre(self, tracks: list[int], dets_idx: list[int], dets: list[Face]) -> dict[int, int]:
        if not tracks or not dets_idx:
            return {}
        cost = np.full((len(tracks), len(dets_idx)), 1e6)
        for r, ti in enumerate(tracks):
            px, py = self.tracks[ti].kalman.x[:2]
            lw = self.tracks[ti].face.width  # the last seen size: the predicted one may have drifted
            for c, di in enumerate(dets_idx):
                x1, y1, x2, y2 = dets[di].box
                ratio = (x2 - x1) / max(lw, 1.0)
                if not 0.6 <= ratio <= 1.6:
                    continue
                d = np.hypot((x1 + x2) / 2 - px, (y1 + y2) / 2 - py) / max(lw, 1.0)
                cost[r, c] = d
        return {tracks[r]: dets_idx[c] for r, c in _assign(cost, self.reid_distance)}

    def end_all(self) -> list[Track]:
        """End every track (at the end of the stream or at a scene cut); returns the confirmed ones."""
        ended = [t for t in self.tracks if t.confirmed]
        self.tracks = []
        return ended

    def renumber(self, track: Track, frame: int, timestamp: float) -> None:
        """Give ``track`` a new id from this frame on (its face turned out to be someone else's)."""
        track.id = self._next_id
        self._next_id += 1
        track.first_frame, track.first_time, track.hits = frame, timestamp, 1
        track.extra = {}

    def end(self, track: Track) -> None:
        """Drop one track now (its id is not reused)."""
        self.tracks = [t for t in self.tracks if t is not track]
