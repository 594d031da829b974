"""``analyze()``: age, gender, emotion, race and liveness of every face, each model run once per batch."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from faceprint.analysis.base import AttributeModel
from faceprint.errors import ConfigError
from faceprint.models.registry import get
from faceprint.types import Face, FaceAnalysis

log = logging.getLogger("faceprint")

ACTIONS = ("age", "gender", "emotion", "race")
#: race is left out: its only model (deepface's) has no offline copy, so asking for it is explicit
DEFAULT_ACTIONS = ("age", "gender", "emotion")
#: chosen on the fixtures (docs/analysis.md): face-api's nets, which need only the base install
#: (ONNX Runtime) and whose files come from the npm registry. "emotion_ensemble" (with mini-Xception,
#: needs faceprint[analysis]: torch, h5py) measured 1.2 points higher, within the fixtures' noise.
DEFAULT_MODELS = {
    "age": "faceapi_age",
    "gender": "faceapi_gender",
    "emotion": "faceapi_expression",
    "race": "deepface_race",
    "antispoof": "minifasnet",
}


def parse_actions(actions: str | Iterable[str] | None) -> tuple[str, ...]:
    """Validated actions, in the order given, without repeats. A string may be comma-separated."""
    if actions is None:
        return DEFAULT_ACTIONS
    items = actions.split(",") if isinstance(actions, str) else list(actions)
    out: list[str] = []
    for a in items:
        if not isinstance(a, str):
            raise ConfigError(f"actions must be strings, got {type(a).__name__}")
        a = a.strip().lower()
        if a not in ACTIONS:
            raise ConfigError(f"unknown action {a!r}; use any of {', '.join(ACTIONS)}")
        if a not in out:
            out.append(a)
    if not out:
        raise ConfigError(f"no action given; use any of {', '.join(ACTIONS)}")
    return tuple(out)


def _probs(labels: Sequence[str], row: np.ndarray) -> dict[str, float]:
    return {label: float(p) for label, p in zip(labels, row)}


class Analyzer:
    """Holds one attribute model per task, created on first use (weights load lazily).

    Args:
        models: task → registry name or :class:`AttributeModel`, overriding :data:`DEFAULT_MODELS`.
        device: "cpu", "cuda" or "auto".
    """

    def __init__(self, models: dict[str, Any] | None = None, device: str = "cpu") -> None:
        unknown = set(models or {}) - set(DEFAULT_MODELS)
        if unknown:
            raise ConfigError(f"unknown analysis task(s) {sorted(unknown)}; use {', '.join(DEFAULT_MODELS)}")
        self._choice: dict[str, Any] = {**DEFAULT_MODELS, **(models or {})}
        self._models: dict[str, AttributeModel] = {}
        self.device = device

    def model(self, task: str) -> AttributeModel:
        if task not in self._models:
            choice = self._choice[task]
            if isinstance(choice, AttributeModel):
                self._models[task] = choice
            else:
                spec = get(choice, task)
                self._models[task] = spec.load_class()(spec, device=self.device)
        return self._models[task]

    def _run(self, task: str, items: Sequence[tuple[np.ndarray, Face]]) -> np.ndarray:
        m = self.model(task)
        return m.predict_inputs([m.preprocess(img, f.box) for img, f in items])

    def spoof_threshold(self) -> float:
        """P(live) at or above which a face counts as live (the anti-spoofing model's registry option)."""
        return float(self.model("antispoof").spec.options.get("threshold", 0.5))

    def check_liveness(self, items: Sequence[tuple[np.ndarray, Face]]) -> list[Face]:
        """The faces with ``is_real`` and ``antispoof_score`` (P(live)) filled in, in one batch."""
        if not items:
            return []
        threshold = self.spoof_threshold()
        live = self._run("antispoof", items)[:, 1]
        return [replace(f, is_real=bool(s >= threshold), antispoof_score=float(s)) for (_, f), s in zip(items, live)]

    def analyze(
        self,
        items: Sequence[tuple[np.ndarray, Face, str]],
        actions: str | Iterable[str] | None = None,
        anti_spoofing: bool = False,
    ) -> list[FaceAnalysis]:
        """One :class:`FaceAnalysis` per (BGR image, face, source) item; every model runs once over all items."""
        acts = parse_actions(actions)
        tasks = (*acts, "antispoof") if anti_spoofing else acts
        self._check_files(tasks)  # fail on missing weight files, all named at once, before any model runs
        for task in tasks:
            self.model(task)._ensure_loaded()
        pairs = [(img, f) for img, f, _ in items]
        faces = self.check_liveness(pairs) if anti_spoofing else [f for _, f in pairs]
        fields: list[dict[str, Any]] = [{} for _ in items]
        used: dict[str, str] = {}
        for task in acts:
            out = self._run(task, pairs)
            m = self.model(task)
            used[task] = m.name
            for row, fld in zip(out, fields):
                fld.update(self._interpret(task, m, row))
        if anti_spoofing:
            used["antispoof"] = self.model("antispoof").name
        return [
            FaceAnalysis(face=f, source=src, models=dict(used), **fld)
            for (_, _, src), f, fld in zip(items, faces, fields)
        ]

    def _check_files(self, tasks: Iterable[str]) -> None:
        from faceprint.errors import WeightsMissingError
        from faceprint.models.weights import resolve

        missing: list[str] = []
        for task in tasks:
            m = self.model(task)
            for wf in m.spec.files:
                try:
                    resolve(wf, m._weights.get(wf.name))
                except WeightsMissingError as exc:
                    if str(exc) not in missing:
                        missing.append(str(exc))
        if len(missing) == 1:
            raise WeightsMissingError(missing[0])
        if missing:
            raise WeightsMissingError(f"{len(missing)} weight files are missing:\n" + "\n".join(missing))

    @staticmethod
    def _interpret(task: str, m: AttributeModel, row: np.ndarray) -> dict[str, Any]:
        labels = m.labels
        if task == "age":
            # a regressor gives years; a 101-way classifier (deepface) gives the expected age
            age = float(row[0]) if row.shape[0] == 1 else float(np.dot(row, np.arange(row.shape[0])))
            return {"age": age}
        if row.shape[0] == 1:  # a score for the second label (SSR-Net gender: P(man))
            p = float(np.clip(row[0], 0.0, 1.0))
            row = np.array([1.0 - p, p], np.float32)
        if len(labels) != row.shape[0]:
            raise ConfigError(f"model {m.name!r} gives {row.shape[0]} outputs but declares labels {labels}")
        probs = _probs(labels, row)
        return {task: labels[int(np.argmax(row))], f"{task}_probabilities": probs}
