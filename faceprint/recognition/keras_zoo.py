"""Recognizers whose official weights are Keras 2 ``.h5`` files (deepface's releases), run on PyTorch.

Each architecture is a plain function of a :class:`~faceprint.formats.keras_engine.KerasRun` and an
NCHW tensor (see :mod:`faceprint.formats.keras_engine`); :class:`KerasRecognizer` declares its layout,
loads the file against it and embeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from faceprint.formats.keras_engine import Architecture, KerasRun, LayerSpec, declare, load_params
from faceprint.formats.keras_h5 import read_weights
from faceprint.models.runtime import torch_device, torch_module
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer
from faceprint.recognition.preprocess import check_normalization, normalize


class KerasRecognizer(Recognizer):
    """A recognizer whose network is an :data:`Architecture` and whose weights are one Keras ``.h5``.

    Subclasses set ``architecture`` (and ``canonical`` where a release spells layer names its own
    way). The spec gives ``normalization`` and ``l2_normalize``, and its ``options`` any
    ``arch_options`` passed to the architecture (e.g. the embedding size).
    """

    architecture: Architecture
    canonical: Callable[[str], str] = staticmethod(str)

    def __init__(self, spec: ModelSpec, *, normalization: str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.normalization = check_normalization(normalization or spec.normalization or "unit")

    shareable = True  # weights are only read (inference mode)

    def layout(self) -> dict[str, LayerSpec]:
        """The Keras weight layout this recognizer expects in its file (``layout_options``: layers it
        holds but does not run, e.g. a training classifier)."""
        opts = self.spec.options.get("arch_options", {}) | self.spec.options.get("layout_options", {})
        return declare(type(self).architecture, self.alignment.size, **opts)

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])  # first, so a missing file is reported before torch
        dev = torch_device(self.device)
        return load_params(self.layout(), read_weights(path), dev, type(self).canonical, path), dev

    def _forward(self, x: Any) -> Any:
        """(N, 3, H, W) normalised tensor → (N, d) tensor."""
        params = self._model[0]
        return type(self).architecture(KerasRun(torch_module(), params), x, **self.spec.options.get("arch_options", {}))

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        dev = self._model[1]
        x = normalize(batch, self.normalization, self.spec.color).transpose(0, 3, 1, 2)
        with torch.inference_mode():
            y = self._forward(torch.from_numpy(np.ascontiguousarray(x)).to(dev))
            if self.spec.l2_normalize:
                y = torch.nn.functional.normalize(y, dim=1)
            return y.float().cpu().numpy()


def rename(pattern: str, repl: str) -> Callable[[str], str]:
    """A ``canonical`` function that rewrites layer names with one regex substitution."""
    rx = re.compile(pattern)
    return lambda name: rx.sub(repl, name)
