"""Distances between embeddings, and thresholds per model × metric."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.models.specs import METRICS, ModelSpec


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return metric


def _l2n(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def distance_matrix(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """(N, M) distances between rows of ``a`` (N, d) and ``b`` (M, d)."""
    check_metric(metric)
    a = np.atleast_2d(np.asarray(a, np.float64))
    b = np.atleast_2d(np.asarray(b, np.float64))
    if a.shape[1] != b.shape[1]:
        raise ConfigError(f"embedding sizes differ: {a.shape[1]} vs {b.shape[1]} (different models?)")
    if metric == "cosine":
        return 1.0 - _l2n(a) @ _l2n(b).T
    if metric == "euclidean_l2":
        a, b = _l2n(a), _l2n(b)
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def distance(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    """Distance between two embeddings: "cosine" (1 - cos), "euclidean", or "euclidean_l2" (of unit vectors)."""
    return float(distance_matrix(a, b, metric)[0, 0])


def user_settings_path() -> Path:
    """The user's tuned thresholds file: ``$FACEPRINT_THRESHOLDS``, else ``$FACEPRINT_HOME/thresholds.json``."""
    explicit = os.environ.get("FACEPRINT_THRESHOLDS")
    if explicit:
        return Path(explicit)
    from faceprint.models.weights import home

    return home() / "thresholds.json"


def user_settings() -> dict[str, Any]:
    """``{model: {"thresholds": {metric: t}, "calibration": {metric: [a, b]}}}`` written by ``faceprint tune``."""
    path = user_settings_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable thresholds file ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of models")
    return data


def threshold_for(spec: ModelSpec, metric: str, tta: str = "none") -> float:
    """The decision threshold for ``metric`` (same person when distance <= threshold).

    A threshold the user tuned (``faceprint tune --write``) wins over the registry's. Under
    test-time augmentation (``tta``) the registry's ``tta_thresholds`` apply where it has them.
    """
    check_metric(metric)
    tuned = user_settings().get(spec.name, {}).get("thresholds", {})
    if metric in tuned:
        return float(tuned[metric])
    if metric in spec.tta_thresholds.get(tta, {}):
        return spec.tta_thresholds[tta][metric]
    if metric not in spec.thresholds:
        raise ConfigError(f"model {spec.name!r} has no threshold for {metric!r}; pass threshold=")
    return spec.thresholds[metric]


def check_threshold(threshold: object) -> float:
    """A user's distance threshold as a float: a finite number >= 0, or a ConfigError saying what came."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.floating | np.integer):
        raise ConfigError(f"threshold must be a number (a distance >= 0), not {threshold!r}")
    value = float(threshold)
    if not np.isfinite(value) or value < 0:
        raise ConfigError(f"threshold must be a finite distance >= 0, not {threshold!r}")
    return value


def probability_for(spec: ModelSpec, metric: str, dist: float) -> float | None:
    """P(same person) from the user's calibration (``faceprint tune --write``), or None if there is none."""
    cal = user_settings().get(spec.name, {}).get("calibration", {}).get(metric)
    if not cal:
        return None
    a, b = float(cal[0]), float(cal[1])
    return float(1.0 / (1.0 + np.exp(-np.clip(a + b * dist, -500, 500))))
