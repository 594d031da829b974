"""An attribute model that averages the class probabilities of other registered models.

Each member cuts its own crop; :meth:`preprocess` returns the members' inputs flattened end to end
so the batch plumbing of :class:`AttributeModel` carries them unchanged. ``combine`` "mean" averages
probabilities; "geometric" averages log-probabilities and renormalises (a confident member then
cannot outvote the other alone).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.analysis.base import AttributeModel, Box
from faceprint.errors import ConfigError


class AverageModel(AttributeModel):
    """``options``: ``members`` (registry names of the same task), ``combine`` ("mean" | "geometric")."""

    def __init__(self, spec: Any, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        from faceprint.models.registry import get

        combine = spec.options.get("combine", "mean")
        if combine not in ("mean", "geometric"):
            raise ConfigError(f"model {spec.name!r}: combine must be 'mean' or 'geometric', got {combine!r}")
        self.combine = combine
        self.members: list[AttributeModel] = []
        for name in spec.options["members"]:
            s = get(name, spec.task)
            self.members.append(s.load_class()(s, weights=self._weights, device=self.device, batch_size=self.batch_size))
        for m in self.members:
            if m.labels != self.labels:
                raise ConfigError(f"model {spec.name!r}: member {m.name!r} has labels {m.labels}, not {self.labels}")
        self._shapes: list[tuple[int, ...]] = []

    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        parts = [m.preprocess(image, box) for m in self.members]
        self._shapes = [p.shape for p in parts]
        return np.concatenate([p.astype(np.float32, copy=False).ravel() for p in parts])

    def _load(self) -> Any:
        for m in self.members:
            m._ensure_loaded()
        return self.members

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        outs, start = [], 0
        for m, shape in zip(self.members, self._shapes):
            size = int(np.prod(shape))
            outs.append(m._predict(batch[:, start : start + size].reshape((len(batch), *shape))))
            start += size
        if self.combine == "mean":
            return np.mean(outs, axis=0)
        logp = np.mean([np.log(np.clip(o, 1e-7, 1.0)) for o in outs], axis=0)
        p = np.exp(logp - logp.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)
