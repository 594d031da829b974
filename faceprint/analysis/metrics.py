"""Figures for attribute models: presentation-attack error rates (ISO/IEC 30107-3), age MAE by bin."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceprint.errors import ConfigError

AGE_BINS = ((0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 200))


def spoof_rates(live_scores: Sequence[float], is_live: Sequence[bool], threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, APCER, BPCER and ACER when a face counts as live at ``score >= threshold``.

    APCER: attacks accepted as live / attacks. BPCER: live faces rejected / live faces. ACER: their mean.
    """
    s = np.asarray(live_scores, np.float64)
    y = np.asarray(is_live, bool)
    if s.shape != y.shape or s.ndim != 1:
        raise ConfigError(f"scores {s.shape} and labels {y.shape} must be equal-length vectors")
    if y.all() or not y.any():
        raise ConfigError("need both live and attack samples")
    accepted = s >= threshold
    apcer = float(accepted[~y].mean())
    bpcer = float((~accepted[y]).mean())
    return {"accuracy": float((accepted == y).mean()), "apcer": apcer, "bpcer": bpcer, "acer": (apcer + bpcer) / 2}


def age_mae_by_bin(pred: Sequence[float], true: Sequence[float]) -> dict[str, float]:
    """MAE overall ("all") and per UTKFace-style age bin ("0-2", ..., "70+")."""
    p, t = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    out = {"all": float(np.abs(p - t).mean())}
    for lo, hi in AGE_BINS:
        sel = (t >= lo) & (t <= hi)
        if sel.any():
            out[f"{lo}+" if hi >= 200 else f"{lo}-{hi}"] = float(np.abs(p[sel] - t[sel]).mean())
    return out
