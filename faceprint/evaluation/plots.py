"""Pictures people would rather look at than tables: distance distributions, ROC, embedding barcodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import DependencyError
from faceprint.evaluation import metrics as M

SIZE = (8.0, 5.0)  # inches; at DPI this gives 800 x 500 pixels
DPI = 100


def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise DependencyError("plots need matplotlib: pip install 'faceprint[eval]'") from exc
    return plt


def distance_histogram(d: np.ndarray, same: np.ndarray, threshold: float, path: str | Path, title: str = "") -> Path:
    """Genuine vs impostor distance distributions with the decision threshold."""
    plt = _plt()
    d, same = np.asarray(d, float), np.asarray(same, bool)
    ok = ~np.isnan(d)
    d, same = d[ok], same[ok]
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    bins = np.linspace(d.min(), d.max(), 40) if len(d) else 10
    ax.hist(d[same], bins=bins, alpha=0.6, label=f"same person ({same.sum()})", color="tab:green", density=True)
    ax.hist(d[~same], bins=bins, alpha=0.6, label=f"different people ({(~same).sum()})", color="tab:red", density=True)
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("distance")
    ax.set_ylabel("density")
    ax.set_title(title or "distance distributions")
    ax.legend()
    return _save(fig, path)


def roc_curve(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> Path:
    """ROC curves (TAR against FAR, log FAR axis) of several systems: {name: (distances, same)}."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    for name, (d, same) in curves.items():
        d, same = np.asarray(d, float), np.asarray(same, bool)
        ok = ~np.isnan(d)
        far, tar, _ = M.roc(d[ok], same[ok])
        floor = 1.0 / max((~same[ok]).sum(), 1)
        ax.plot(np.maximum(far, floor / 2), tar, label=f"{name} (AUC {M.auc(d[ok], same[ok]):.4f})")
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title("ROC")
    ax.legend(loc="lower right")
    return _save(fig, path)


def barcode(a: np.ndarray, b: np.ndarray, path: str | Path, labels: tuple[str, str] = ("face 1", "face 2")) -> Path:
    """Two embeddings and their difference drawn as stripes: similar faces give similar barcodes."""
    plt = _plt()
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    fig, axes = plt.subplots(3, 1, figsize=SIZE, dpi=DPI)
    lim = max(np.abs(a).max(), np.abs(b).max(), 1e-9)
    for ax, v, name in zip(axes, (a, b, a - b), (*labels, "difference")):
        ax.imshow(v[None, :], aspect="auto", cmap="RdBu", vmin=-lim, vmax=lim)
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    axes[-1].set_xlabel("embedding dimension")
    fig.subplots_adjust(left=0.15)
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
