"""The decision policy: a recognizer's thresholds per metric (the registry's, under the pipeline's
test-time augmentation, overridden by the user's tuned file) and the user's calibration to P(same).

The tuned file is ``$FACEPRINT_THRESHOLDS``, else ``$FACEPRINT_HOME/thresholds.json``:
``{model: {"thresholds": {metric: t}, "calibration": {metric: [a, b]}}}``. :func:`read_settings` and
:func:`write_settings` are its only reader and writer (``faceprint tune --write`` uses the latter).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.models.specs import METRICS, ModelSpec


def settings_path() -> Path:
    """The user's tuned thresholds file: ``$FACEPRINT_THRESHOLDS``, else ``$FACEPRINT_HOME/thresholds.json``."""
    explicit = os.environ.get("FACEPRINT_THRESHOLDS")
    if explicit:
        return Path(explicit)
    from faceprint.models.weights import home

    return home() / "thresholds.json"


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


def read_settings(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The tuned file's contents (``{}`` when there is none); a damaged file raises ConfigError naming it."""
    p = Path(path) if path is not None else settings_path()
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: unreadable thresholds file ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a JSON object of models")
    return data


def write_settings(entries: dict[str, dict[str, Any]], path: str | os.PathLike[str] | None = None) -> Path:
    """Merge ``{model: {"thresholds": {...}, "calibration": {...}}}`` into the tuned file; returns its path."""
    p = Path(path) if path is not None else settings_path()
    current = read_settings(p)
    for model, entry in entries.items():
        slot = current.setdefault(model, {})
        for part in ("thresholds", "calibration"):
            if part in entry:
                slot.setdefault(part, {}).update(entry[part])
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(current, indent=2), encoding="utf-8")
    os.replace(tmp, p)  # a reader never sees half a file
    return p


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return metric


@dataclass(frozen=True)
class Thresholds:
    """One recognizer's decision policy under one test-time augmentation setting.

    Build it with :meth:`load` (reads the tuned file once); :meth:`stale` says whether that file
    changed since, so a long-lived pipeline picks up a new ``faceprint tune --write``.
    """

    model: str
    values: dict[str, float]  # metric → threshold, tuned values over the registry's
    calibration: dict[str, tuple[float, float]] = field(default_factory=dict)
    tuned: frozenset[str] = frozenset()  # the metrics whose threshold came from the tuned file
    source: tuple[str, int, int] | None = None  # (path, mtime_ns, size) of the tuned file read

    @classmethod
    def load(cls, spec: ModelSpec, tta: str = "none", path: str | os.PathLike[str] | None = None) -> Thresholds:
        p = Path(path) if path is not None else settings_path()
        user = read_settings(p).get(spec.name, {})
        if not isinstance(user, dict):
            raise ConfigError(f"{p}: entry {spec.name!r} must be a JSON object")
        values = {**spec.thresholds, **spec.tta_thresholds.get(tta, {})}
        tuned = {m: float(t) for m, t in (user.get("thresholds") or {}).items()}
        values.update(tuned)
        cal = {m: (float(ab[0]), float(ab[1])) for m, ab in (user.get("calibration") or {}).items() if ab}
        return cls(spec.name, values, cal, frozenset(tuned), _stamp(p))

    def stale(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Whether the tuned file changed (written, replaced or removed) since this was loaded."""
        return _stamp(Path(path) if path is not None else settings_path()) != self.source

    def get(self, metric: str) -> float | None:
        """The threshold for ``metric``, or None when neither the registry nor the user gives one."""
        return self.values.get(check_metric(metric))

    def threshold(self, metric: str) -> float:
        """The threshold for ``metric`` (same person when distance <= it); ConfigError when there is none."""
        value = self.get(metric)
        if value is None:
            raise ConfigError(
                f"model {self.model!r} has no threshold for {metric!r}; pass threshold=, or tune one on "
                "labelled pairs: faceprint tune PAIRS --model " + self.model + " --write"
            )
        return value

    def probability(self, metric: str, dist: float) -> float | None:
        """P(same person) from the user's calibration, or None if there is none for ``metric``."""
        cal = self.calibration.get(metric)
        if not cal:
            return None
        a, b = cal
        return float(1.0 / (1.0 + np.exp(-np.clip(a + b * dist, -500, 500))))


# -- the functions faceprint had before the object (kept: callers and tests use them) ---------------
def user_settings_path() -> Path:
    """The user's tuned thresholds file (see :func:`settings_path`)."""
    return settings_path()


def user_settings() -> dict[str, Any]:
    """The tuned file's contents (see :func:`read_settings`)."""
    return read_settings()


def threshold_for(spec: ModelSpec, metric: str, tta: str = "none") -> float:
    """The decision threshold for ``metric`` (same person when distance <= threshold).

    A threshold the user tuned (``faceprint tune --write``) wins over the registry's. Under
    test-time augmentation (``tta``) the registry's ``tta_thresholds`` apply where it has them.
    """
    return Thresholds.load(spec, tta).threshold(metric)


def probability_for(spec: ModelSpec, metric: str, dist: float) -> float | None:
    """P(same person) from the user's calibration (``faceprint tune --write``), or None if there is none."""
    return Thresholds.load(spec).probability(metric, dist)
