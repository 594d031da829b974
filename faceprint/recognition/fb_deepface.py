"""DeepFace (Taigman et al., Facebook, CVPR 2014): 152x152 → 4096-d F7, as trained on VGGFace2 by S. Ghosh.

C1 11x11 convolution, 3x3 max pooling, C3 9x9 convolution, then three locally connected layers
(L4-L6: a separate filter bank at every position, the paper's answer to aligned faces), F7 dense
4096 with ReLU: the representation. The file also holds F8, the 8631-identity classifier, which is
loaded (so the file is checked whole) but not run. 137,774,071 parameters with F8.
Weights: ``VGGFace2_DeepFace_weights_val-0.9034.h5`` inside a zip (swghosh/DeepFace, used by deepface).
"""

from __future__ import annotations

from typing import Any

from faceprint.formats.keras_engine import KerasRun, load_params
from faceprint.formats.keras_h5 import read_zipped_weights, same_pad
from faceprint.models.runtime import torch_device
from faceprint.recognition.keras_zoo import KerasRecognizer


def fb_deepface(r: KerasRun, x: Any, classes: int = 0) -> Any:
    """The network; (N, 3, 152, 152) → (N, 4096) F7, or (N, classes) F8 logits when ``classes``."""
    t, F = r.torch, r.F
    x = t.relu(r.conv(x, "C1", 32, 11))
    (top, bottom), (left, right) = same_pad(x.shape[2], 3, 2), same_pad(x.shape[3], 3, 2)
    x = F.max_pool2d(F.pad(x, (left, right, top, bottom), value=float("-inf")), 3, 2)  # M2, "same"
    x = t.relu(r.conv(x, "C3", 16, 9))
    x = t.relu(r.local(x, "L4", 16, 9))
    x = t.relu(r.local(x, "L5", 16, 7, 2))
    x = t.relu(r.local(x, "L6", 16, 5))
    x = t.relu(r.dense(x.permute(0, 2, 3, 1).flatten(1), "F7", 4096))  # Keras flattens NHWC
    return r.dense(x, "F8", classes) if classes else x


class FbDeepFace(KerasRecognizer):
    """Facebook's DeepFace from the VGGFace2-trained Keras weights deepface uses."""

    architecture = staticmethod(fb_deepface)

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        dev = torch_device(self.device)
        return load_params(self.layout(), read_zipped_weights(path), dev, source=path), dev
