"""face-api's age/gender and expression networks as attribute models (ONNX Runtime, no TensorFlow).

Crop as face-api makes it: the face box (optionally grown by ``margin``), clipped to the image, padded
to a centred square with black, resized to 112x112 RGB. The graphs are built in memory from the TF.js
weights (:mod:`faceprint.nets.faceapi`).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.analysis.base import AttributeModel, Box
from faceprint.formats.tfjs import load_weights
from faceprint.models.runtime import onnx_session
from faceprint.nets.faceapi import INPUT, build_onnx, square_crop


def load_faceapi_session(model: Any, net: str, device: str) -> Any:
    """An ONNX Runtime session for face-api network ``net`` from ``model``'s (manifest, shard) files."""
    manifest_wf, shard_wf = model.spec.files[:2]
    manifest, shard = model.weight_path(manifest_wf), model.weight_path(shard_wf)
    # the manifest names its shard by base name; the resolved copy may live anywhere
    weights = load_weights(manifest, shards={shard_wf.name.rpartition("/")[2]: shard})
    return onnx_session(build_onnx(net, weights, manifest), device)


class FaceApiAttribute(AttributeModel):
    """``options``: ``net`` (age_gender | expression), ``output`` (which graph output), ``order``
    (indices that reorder the output into ``labels``), ``margin``."""

    shareable = True  # an InferenceSession runs from many threads

    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return square_crop(rgb, box, float(self.spec.options.get("margin", 0.0)))[0]

    def _load(self) -> Any:
        return load_faceapi_session(self, self.spec.options["net"], self.device)

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        opts = self.spec.options
        out = self._model.run([opts["output"]], {INPUT: batch})[0]
        order = opts.get("order")
        return out[:, list(order)] if order is not None else out
