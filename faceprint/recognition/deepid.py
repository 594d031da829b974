"""DeepID (Sun et al. 2014): a 55x47 (height x width) face → 160-d, as deepface distributes it.

Three convolution + 2x2 max-pool stages, then two dense layers added together: one on the third
stage's output, one on a fourth 2x2 convolution (the multi-scale feature of the paper), and a ReLU.
Weights: deepface's ``deepid_keras_weights.h5``. 395,080 parameters.
"""

from __future__ import annotations

from typing import Any

from faceprint.formats.keras_engine import KerasRun
from faceprint.recognition.keras_zoo import KerasRecognizer


def _flatten(x: Any) -> Any:
    return x.permute(0, 2, 3, 1).flatten(1)  # Keras flattens NHWC: dense weights expect that order


def deepid(r: KerasRun, x: Any) -> Any:
    """The network; (N, 3, 55, 47) → (N, 160)."""
    t, F = r.torch, r.F
    for name, filters, k in (("Conv1", 20, 4), ("Conv2", 40, 3), ("Conv3", 60, 3)):
        x = F.max_pool2d(t.relu(r.conv(x, name, filters, k)), 2, 2)  # dropout layers: inactive at inference
    fc11 = r.dense(_flatten(x), "fc11", 160)
    fc12 = r.dense(_flatten(t.relu(r.conv(x, "Conv4", 80, 2))), "fc12", 160)
    return t.relu(fc11 + fc12)


class DeepID(KerasRecognizer):
    """DeepID from deepface's ``deepid_keras_weights.h5``."""

    architecture = staticmethod(deepid)
