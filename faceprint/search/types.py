"""Typed results of search; pandas only at the edge (``to_pandas``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from faceprint.errors import DependencyError
from faceprint.types import Face


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored face: where it came from and whose it is."""

    id: int
    key: str  # the image path (absolute), or a caller's key for vectors added directly
    identity: str
    face: int = 0  # index of the face within its image
    box: tuple[float, float, float, float] | None = None
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the gallery knows about one source file, to detect changes cheaply."""

    path: str
    size: int
    mtime: float
    sha256: str
    status: str  # "ok" | "no_face" | "error"
    faces: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """One gallery hit. With per-identity aggregation ``count`` faces of that identity were among the candidates."""

    identity: str
    file: str
    distance: float
    threshold: float
    metric: str
    entry_id: int
    face: int = 0
    box: tuple[float, float, float, float] | None = None
    count: int = 1

    @property
    def verified(self) -> bool:
        return self.distance <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verified": self.verified}


@dataclass(frozen=True, slots=True)
class FaceMatches:
    """The top-k matches of one face of the query image, best first."""

    matches: tuple[Match, ...]
    face: Face | None = None
    source: str = ""

    def __len__(self) -> int:
        return len(self.matches)

    def __getitem__(self, i: int) -> Match:
        return self.matches[i]

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "face": self.face.to_dict() if self.face is not None else None,
            "matches": [m.to_dict() for m in self.matches],
        }

    def to_pandas(self) -> Any:
        """A DataFrame with one row per match (deepface's ``find`` columns plus faceprint's)."""
        pd = _pandas()
        rows = []
        for m in self.matches:
            x1, y1, x2, y2 = m.box or (0.0, 0.0, 0.0, 0.0)
            rows.append({"identity": m.file, "label": m.identity, "distance": m.distance, "threshold": m.threshold,
                         "verified": m.verified, "metric": m.metric, "face": m.face, "count": m.count,
                         "target_x": x1, "target_y": y1, "target_w": x2 - x1, "target_h": y2 - y1})  # fmt: skip
        columns = ["identity", "label", "distance", "threshold", "verified", "metric", "face", "count",
                   "target_x", "target_y", "target_w", "target_h"]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise DependencyError("to_pandas() needs pandas: pip install 'faceprint[search]' (or pandas)") from None
    return pd


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What a :meth:`Gallery.sync` / :meth:`Gallery.add` did."""

    indexed: int = 0  # files (re)embedded and stored
    faces: int = 0  # faces stored
    unchanged: int = 0
    removed: int = 0
    no_face: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()  # (file, reason)
    skipped: tuple[tuple[str, str], ...] = ()  # (file, reason), e.g. not an image
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (f"indexed {self.indexed} file(s) ({self.faces} face(s)), unchanged {self.unchanged}, "
                f"removed {self.removed}, no face {len(self.no_face)}, errors {len(self.errors)}, "
                f"skipped {len(self.skipped)} in {self.seconds:.1f} s")  # fmt: skip


@dataclass(frozen=True, slots=True)
class GalleryStats:
    entries: int
    files: int
    identities: int
    no_face_files: int
    error_files: int
    contract: dict[str, Any]
    backend: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
