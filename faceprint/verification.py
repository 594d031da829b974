"""Distances between embeddings (thresholds: :mod:`faceprint.thresholds`)."""

from __future__ import annotations

import numpy as np

from faceprint.errors import ConfigError
from faceprint.thresholds import (  # noqa: F401  (the decision policy lives there; these names stay importable)
    Thresholds,
    check_metric,
    probability_for,
    threshold_for,
    user_settings,
    user_settings_path,
)


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


def check_threshold(threshold: object) -> float:
    """A user's distance threshold as a float: a finite number >= 0, or a ConfigError saying what came."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.floating | np.integer):
        raise ConfigError(f"threshold must be a number (a distance >= 0), not {threshold!r}")
    value = float(threshold)
    if not np.isfinite(value) or value < 0:
        raise ConfigError(f"threshold must be a finite distance >= 0, not {threshold!r}")
    return value
