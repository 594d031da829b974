"""mini-Xception (Arriaga et al. 2017, oarriaga/face_classification): emotion (FER-2013) and gender (IMDB).

Whole-model Keras 2 files: the graph is rebuilt from the file's own ``model_config``
(:class:`~faceprint.formats.keras_graph.KerasGraph`). Both released models take a 64x64 greyscale
face scaled to [-1, 1] (``x / 255``, then ``(x - 0.5) * 2``: the repository's ``preprocess_input``
with ``v2=True``, which is what its training generator applies).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.analysis.base import AttributeModel, Box, margin_crop, torch_device
from faceprint.errors import ConfigError
from faceprint.formats.keras_graph import KerasGraph
from faceprint.formats.keras_h5 import read_config, read_weights


def normalize(grey: np.ndarray) -> np.ndarray:
    """uint8 grey → float32 in [-1, 1]."""
    return (grey.astype(np.float32) / 255.0 - 0.5) * 2.0


class MiniXception(AttributeModel):
    """Class probabilities (N, classes) in the order of ``spec.labels``."""

    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        size = self.spec.input_size or (64, 64)
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        opts = self.spec.options
        crop = margin_crop(grey, box, float(opts.get("margin", 0.0)), size, bool(opts.get("pad", False)))
        return normalize(crop)[..., None]

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        config = read_config(path)
        if config is None:
            raise ConfigError(f"{path}: no model_config; a whole-model Keras file is needed")
        return KerasGraph(config, read_weights(path), torch_device(self.device), source=path)

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        return self._model.forward(batch)
