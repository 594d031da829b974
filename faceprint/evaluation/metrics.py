"""Verification metrics on pair distances (same person when distance <= threshold).

Pure numpy, so that every figure can be recomputed independently (the tests use scikit-learn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _arrays(d: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(d, np.float64), np.asarray(same, bool)


def accuracy(d: np.ndarray, same: np.ndarray, threshold: float) -> float:
    d, same = _arrays(d, same)
    return float(np.mean((d <= threshold) == same)) if len(d) else float("nan")


def best_accuracy_threshold(d: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy; ties go to the middle of the best range. O(n log n)."""
    d, same = _arrays(d, same)
    n = len(d)
    if n == 0:
        return 0.0, float("nan")
    order = np.argsort(d, kind="stable")
    ds, ys = d[order], same[order]
    # accept the first k pairs (k = 0..n): correct = same among them + different among the rest
    pos_acc = np.concatenate([[0], np.cumsum(ys)])
    neg_rest = (~ys).sum() - np.concatenate([[0], np.cumsum(~ys)])
    k = np.concatenate([[0], np.flatnonzero(np.diff(ds) > 0) + 1, [n]])  # cuts between distinct values
    acc = (pos_acc[k] + neg_rest[k]) / n
    best = np.flatnonzero(acc == acc.max())
    j = k[best[len(best) // 2]]
    if j == 0:
        t = ds[0] - 1e-9
    elif j == n:
        t = ds[-1] + 1e-9
    else:
        t = (ds[j - 1] + ds[j]) / 2
    return float(t), float(acc[best[len(best) // 2]])


def _entropy(pos: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, pos / np.maximum(n, 1), 0.0)
        h = -(p * np.log2(np.where(p > 0, p, 1)) + (1 - p) * np.log2(np.where(p < 1, 1 - p, 1)))
    return np.where(n > 0, h, 0.0)


def infogain_threshold(d: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, information gain in bits) of the best single split, as a C4.5 decision stump."""
    d, same = _arrays(d, same)
    order = np.argsort(d, kind="stable")
    ds, ys = d[order], same[order].astype(np.float64)
    n = len(ds)
    cum = np.cumsum(ys)  # positives among the first i+1
    idx = np.flatnonzero(np.diff(ds) > 0)  # split after position i
    if len(idx) == 0:
        return float(ds[0]) if n else 0.0, 0.0
    n_left = idx + 1
    pos_left = cum[idx]
    h_all = _entropy(np.array([cum[-1]]), np.array([n]))[0]
    h_left = _entropy(pos_left, n_left)
    h_right = _entropy(cum[-1] - pos_left, n - n_left)
    gain = h_all - (n_left * h_left + (n - n_left) * h_right) / n
    j = int(np.argmax(gain))
    return float((ds[idx[j]] + ds[idx[j] + 1]) / 2), float(gain[j])


def roc(d: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FAR, TAR, thresholds), thresholds ascending; FAR/TAR are rates of accepted impostor/genuine pairs."""
    d, same = _arrays(d, same)
    thr = np.concatenate([[-np.inf], np.unique(d)])
    gen, imp = np.sort(d[same]), np.sort(d[~same])
    tar = np.searchsorted(gen, thr, side="right") / max(len(gen), 1)
    far = np.searchsorted(imp, thr, side="right") / max(len(imp), 1)
    return far, tar, thr


def auc(d: np.ndarray, same: np.ndarray) -> float:
    far, tar, _ = roc(d, same)
    return float(np.trapezoid(tar, far))


def tar_at_far(d: np.ndarray, same: np.ndarray, far_target: float) -> tuple[float, float]:
    """(TAR, threshold) at the largest threshold whose FAR does not exceed ``far_target``."""
    far, tar, thr = roc(d, same)
    ok = np.flatnonzero(far <= far_target)
    i = ok[-1]
    t = thr[i] if np.isfinite(thr[i]) else float(np.min(d)) - 1e-9
    return float(tar[i]), float(t)


def eer(d: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(equal error rate, threshold): where false accepts and false rejects are closest."""
    far, tar, thr = roc(d, same)
    frr = 1 - tar
    i = int(np.argmin(np.abs(far - frr)))
    t = thr[i] if np.isfinite(thr[i]) else float(np.min(d)) - 1e-9
    return float((far[i] + frr[i]) / 2), float(t)


@dataclass(frozen=True, slots=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def confusion(d: np.ndarray, same: np.ndarray, threshold: float) -> Confusion:
    d, same = _arrays(d, same)
    pred = d <= threshold
    return Confusion(
        int((pred & same).sum()), int((pred & ~same).sum()), int((~pred & ~same).sum()), int((~pred & same).sum())
    )


def kfold_accuracy(d: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float, list[float]]:
    """(mean, std, per-fold accuracies): the threshold is fit on the other folds, tested on the held-out one."""
    d, same = _arrays(d, same)
    folds = np.asarray(folds)
    accs = []
    for f in np.unique(folds):
        test = folds == f
        if test.all():
            continue
        t, _ = best_accuracy_threshold(d[~test], same[~test])
        accs.append(accuracy(d[test], same[test], t))
    if not accs:
        return float("nan"), float("nan"), []
    return float(np.mean(accs)), float(np.std(accs)), accs


@dataclass(frozen=True, slots=True)
class Calibration:
    """P(same person | distance) = 1 / (1 + exp(-(a + b * distance))), fitted by logistic regression."""

    a: float
    b: float

    def __call__(self, d: np.ndarray | float) -> np.ndarray | float:
        z = self.a + self.b * np.asarray(d, np.float64)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
        return float(p) if np.ndim(p) == 0 else p


def fit_calibration(d: np.ndarray, same: np.ndarray, l2: float = 1e-6, iters: int = 100) -> Calibration:
    """Maximum-likelihood logistic fit (Newton's method, a tiny L2 penalty so separable data stays finite)."""
    d, same = _arrays(d, same)
    x = np.column_stack([np.ones_like(d), d])
    w = np.zeros(2)
    y = same.astype(np.float64)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -500, 500)))
        grad = x.T @ (p - y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return Calibration(float(w[0]), float(w[1]))
