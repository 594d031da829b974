"""VGG-Face (Parkhi et al. 2015): 224x224 BGR minus the mean colour → 4096-d descriptor.

The network is the one deepface's attribute models are built on (:mod:`faceprint.nets.vgg_face`):
13 3x3 convolutions, 7x7 "fc6" and 1x1 "fc7" convolutions with 4096 channels, and a 1x1 classifier
over the 2622 training identities. deepface embeds with the layer before the classifier (the
ReLU'd fc7 output, flattened) and L2-normalises it; so does this recognizer. 145,002,878 parameters.
"""

from __future__ import annotations

from typing import Any

from faceprint.models.runtime import torch_device
from faceprint.nets.vgg_face import load_vgg_head
from faceprint.recognition.keras_zoo import KerasRecognizer


class VGGFace(KerasRecognizer):
    """VGG-Face descriptor from deepface's ``vgg_face_weights.h5`` (layers read in file order)."""

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        dev = torch_device(self.device)
        return load_vgg_head(path, dev, descriptor=True), dev

    def _forward(self, x: Any) -> Any:
        return self._model[0](x)
