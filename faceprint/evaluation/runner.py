"""Run pipelines over labelled pairs and measure them; combine several into a learned ensemble."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.alignment import UNSETTLED
from faceprint.augment import DEFAULT_TTA
from faceprint.config import DEFAULT_FACES, PipelineConfig
from faceprint.errors import DependencyError, FaceprintError
from faceprint.evaluation import metrics as M
from faceprint.evaluation.cache import EmbeddingCache
from faceprint.evaluation.pairs import Pair
from faceprint.models.specs import ModelSpec
from faceprint.pipeline import Pipeline
from faceprint.verification import check_metric, distance

log = logging.getLogger("faceprint")


@dataclass(frozen=True, slots=True)
class System:
    """One pipeline configuration under evaluation: the named fields, or a whole :class:`PipelineConfig`
    (``System.from_config``; its recognizer and detector may be model objects)."""

    model: str = "dlib"
    detector: str = "mtcnn"
    align: str = "template"
    tta: str = DEFAULT_TTA
    device: str = "cpu"
    base: PipelineConfig | None = field(default=None, compare=False)

    @classmethod
    def from_config(cls, config: PipelineConfig) -> System:
        return cls(config.model, config.detector_name, config.align, str(config.tta), config.device, config)

    def config(self) -> PipelineConfig:
        """The pipeline config this system runs."""
        if self.base is not None:
            return self.base
        return PipelineConfig(self.detector, self.model, align=self.align, tta=self.tta, device=self.device)

    def spec(self) -> ModelSpec:
        """The recognizer's registry spec (reads no weights)."""
        from faceprint.models.registry import get

        rec = self.base.recognizer if self.base is not None else self.model
        return get(rec, "recognizer") if isinstance(rec, str) else rec.spec

    @property
    def name(self) -> str:
        return (
            f"{self.model}+{self.detector}"
            + ("" if self.align == "template" else f"+{self.align}")
            + ("" if self.tta == DEFAULT_TTA else f"+tta={self.tta}")
        )

    def cache_file(self, cache_dir: Path) -> Path:
        spec = self.spec()
        key = f"{spec.name}|{spec.version}|{self.detector}|{self.align}" + ("" if self.tta == "none" else f"|{self.tta}")
        key += f"|{DEFAULT_FACES}"  # which face of each image: a cache made under another policy is not reused
        # shapes that do not settle are checked (against anchors inside the image), faces missed at first
        # looked for once padded (the copy fitted to max_side): both change chips
        key += f"|unsettled {UNSETTLED} inside|pad {self.config().retry_pad} fitted"
        tag = hashlib.sha256(key.encode()).hexdigest()[:12]
        return cache_dir / f"{spec.name}-{self.detector}-{self.align}-{tag}.npz"


@dataclass(frozen=True)
class Report:
    """Figures for one system (or the ensemble) on one pair list and metric."""

    name: str
    metric: str
    n_pairs: int
    n_failed: int
    failures: list[tuple[str, str, str]]
    threshold: float
    accuracy: float  # at ``threshold``; failed pairs count as wrong
    kfold_mean: float
    kfold_std: float
    auc: float
    tar_at_far: dict[str, float]
    eer: float
    precision: float
    recall: float
    f1: float
    #: where ``threshold`` came from: "model" (registry or the user's tuned file) or, for a model that has
    #: none, "infogain on these pairs" (chosen on the data it is measured on: read ``kfold_mean`` then)
    threshold_source: str = "model"
    model: str = ""  # the recognizer's registry name ("" for an ensemble)
    tuned: dict[str, float] = field(default_factory=dict)
    calibration: tuple[float, float] | None = None
    distances: np.ndarray | None = field(default=None, repr=False)
    same: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("distances")
        d.pop("same")
        return d


def embed_all(
    pipe: Pipeline, paths: Sequence[Path], cache: EmbeddingCache, *, progress: bool = False, save_every: int = 25
) -> dict[Path, np.ndarray | str]:
    """Each image's embedding (its main face, the default policy) or failure reason, using and filling the cache."""
    todo = [p for p in paths if cache.get(p) is None]
    if todo:  # a missing weight file fails here, naming the file, not as every pair failing
        pipe._recognizer_files()
    bar = _bar(len(todo), f"embedding ({pipe.detector.name}+{pipe.recognizer.name})") if progress and todo else None
    try:
        for p in todo:
            try:
                cache.put(p, pipe.represent(p)[0].embedding)
            except FaceprintError as exc:
                cache.put(p, f"{type(exc).__name__}: {exc}")
            if bar is not None:
                bar.update(1)
            if cache.dirty >= save_every:
                cache.save()
    finally:  # Ctrl-C included: what was embedded stays usable
        if cache.dirty:
            cache.save()
        if bar is not None:
            bar.close()
    return {p: cache.get(p) for p in paths}  # type: ignore[misc]


def pair_distances(
    pairs: Sequence[Pair], emb: dict[Path, np.ndarray | str], metric: str
) -> tuple[np.ndarray, list[str]]:
    """Distances (NaN where a pair failed) and each pair's failure reason ("" when fine)."""
    d = np.full(len(pairs), np.nan)
    why = [""] * len(pairs)
    for i, p in enumerate(pairs):
        a, b = emb[p.img1], emb[p.img2]
        if isinstance(a, str) or isinstance(b, str):
            why[i] = f"{p.img1.name}: {a}" if isinstance(a, str) else f"{p.img2.name}: {b}"
            continue
        d[i] = distance(a, b, metric)
    return d, why


def measure(
    name: str, metric: str, pairs: Sequence[Pair], d: np.ndarray, why: list[str], threshold: float | None,
    model: str = "",
) -> Report:  # fmt: skip
    """Figures for one list of pair distances. ``threshold=None`` (a model without one): the infogain
    threshold chosen on these pairs decides, and ``threshold_source`` says so."""
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    ok = ~np.isnan(d)
    dk, yk = d[ok], same[ok]
    tuned = {
        "infogain": M.infogain_threshold(dk, yk)[0],
        "accuracy": M.best_accuracy_threshold(dk, yk)[0],
        "far_1e-3": M.tar_at_far(dk, yk, 1e-3)[1],
        "eer": M.eer(dk, yk)[1],
    }
    source = "model"
    if threshold is None:
        threshold, source = tuned["infogain"], "infogain on these pairs"
    correct = ok & ((np.where(ok, d, np.inf) <= threshold) == same)
    km, ks, _ = M.kfold_accuracy(dk, yk, folds[ok])
    conf = M.confusion(dk, yk, threshold)
    tars = {}
    for far in (1e-2, 1e-3):
        tars[f"{far:g}"] = M.tar_at_far(dk, yk, far)[0]
    cal = M.fit_calibration(dk, yk)
    failures = [(str(p.img1), str(p.img2), w) for p, w in zip(pairs, why) if w]
    return Report(
        name=name, metric=metric, n_pairs=len(pairs), n_failed=int((~ok).sum()), failures=failures,
        threshold=float(threshold), accuracy=float(correct.mean()), kfold_mean=km, kfold_std=ks,
        auc=M.auc(dk, yk), tar_at_far=tars, eer=M.eer(dk, yk)[0], precision=conf.precision, recall=conf.recall,
        f1=conf.f1, threshold_source=source, model=model, tuned=tuned, calibration=(cal.a, cal.b), distances=d, same=same,
    )  # fmt: skip


def evaluate(
    pairs: Sequence[Pair],
    systems: Sequence[System | PipelineConfig],
    *,
    metric: str | None = None,
    cache_dir: Path,
    progress: bool = False,
    ensemble: str | None = "logistic",
) -> list[Report]:
    """One report per system and, with two or more systems, one for their learned ensemble.

    A model with no threshold for the metric (none in the registry, none tuned) is measured at the
    infogain threshold of these pairs (``Report.threshold_source`` says so): that is how one is tuned."""
    paths = sorted({p.img1 for p in pairs} | {p.img2 for p in pairs})
    reports = []
    for item in systems:
        s = System.from_config(item) if isinstance(item, PipelineConfig) else item
        pipe = Pipeline(s.config())
        spec = pipe.recognizer.spec
        m = check_metric(metric or spec.default_metric)
        emb = embed_all(pipe, paths, EmbeddingCache(s.cache_file(cache_dir)), progress=progress)
        d, why = pair_distances(pairs, emb, m)
        reports.append(measure(s.name, m, pairs, d, why, pipe.thresholds.get(m), model=spec.name))
    if ensemble and len(reports) > 1:
        reports.append(ensemble_report(pairs, reports, ensemble))
    return reports


def ensemble_report(pairs: Sequence[Pair], reports: Sequence[Report], kind: str = "logistic") -> Report:
    """A combiner over the systems' distances, trained on k-1 folds and tested on the held-out fold.

    Its "distance" is 1 - P(same), so the same figures apply; its threshold is 0.5.
    """
    try:
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise DependencyError("the ensemble needs scikit-learn: pip install 'faceprint[eval]'") from exc
    x = np.column_stack([r.distances for r in reports])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    ok = ~np.isnan(x).any(1)
    d = np.full(len(pairs), np.nan)
    for f in np.unique(folds):
        train, test = ok & (folds != f), ok & (folds == f)
        if not test.any():
            continue
        if len(np.unique(same[train])) < 2:
            raise FaceprintError(
                "each training split needs both same and different pairs; use more pairs or fewer folds"
            )
        clf = LogisticRegression() if kind == "logistic" else GradientBoostingClassifier(random_state=0)
        clf.fit(x[train], same[train])
        d[test] = 1.0 - clf.predict_proba(x[test])[:, 1]
    why = ["a member system failed" if not k else "" for k in ok]
    name = f"ensemble[{kind}](" + ",".join(r.name for r in reports) + ")"
    return measure(name, "1-p", pairs, d, why, 0.5)


def _bar(total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="img")


def format_table(reports: Sequence[Report]) -> str:
    head = f"{'system':<34}{'metric':<13}{'thr':>7}{'acc':>8}{'k-fold acc':>16}{'AUC':>8}{'TAR@1e-2':>10}{'TAR@1e-3':>10}{'EER':>7}{'P':>7}{'R':>7}{'F1':>7}{'failed':>8}"
    rows = [head, "-" * len(head)]
    for r in reports:
        mark = "*" if r.threshold_source != "model" else " "
        rows.append(
            f"{r.name[:33]:<34}{r.metric:<13}{r.threshold:>7.3f}{mark}{r.accuracy:>7.4f}{r.kfold_mean:>9.4f}±{r.kfold_std:<6.4f}"
            f"{r.auc:>8.4f}{r.tar_at_far['0.01']:>10.4f}{r.tar_at_far['0.001']:>10.4f}{r.eer:>7.4f}{r.precision:>7.3f}"
            f"{r.recall:>7.3f}{r.f1:>7.3f}{r.n_failed:>5}/{r.n_pairs}"
        )
    if any(r.threshold_source != "model" for r in reports):
        rows.append("* no threshold for this model and metric: 'thr' and 'acc' use the infogain threshold of these "
                    "pairs (optimistic; k-fold acc is not); faceprint tune --write saves one")  # fmt: skip
    return "\n".join(rows)
