"""ArcFace (Deng et al. 2019) on a ResNet-34, as deepface distributes it: 112x112 RGB → 512-d.

Pre-activation style residual blocks (batch norm, 3x3 convolution, batch norm, PReLU, 3x3
convolution with the block's stride, batch norm; a 1x1 convolution + batch norm shortcut in the first
block of each stage), stages of 3, 4, 6, 3 blocks with 64-512 channels, all batch norms eps 2e-5.
Head: batch norm, flatten (7x7x512), dense 512, batch norm "embedding". Weights: ``arcface_weights.h5``.
"""

from __future__ import annotations

from typing import Any

from faceprint.formats.keras_engine import KerasRun
from faceprint.recognition.keras_zoo import KerasRecognizer, rename

EPS = 2e-5


def _block(r: KerasRun, x: Any, name: str, filters: int, stride: int, shortcut_conv: bool) -> Any:
    F = r.F
    if shortcut_conv:
        shortcut = r.bn(r.conv(x, name + "_0_conv", filters, 1, stride, bias=False), name + "_0_bn", EPS)
    else:
        shortcut = x
    x = r.bn(x, name + "_1_bn", EPS)
    x = r.conv(F.pad(x, (1, 1, 1, 1)), name + "_1_conv", filters, 3, bias=False)
    x = r.prelu(r.bn(x, name + "_2_bn", EPS), name + "_1_prelu")
    x = r.conv(F.pad(x, (1, 1, 1, 1)), name + "_2_conv", filters, 3, stride, bias=False)
    return shortcut + r.bn(x, name + "_3_bn", EPS)


def arcface_resnet34(r: KerasRun, x: Any) -> Any:
    """The network; (N, 3, 112, 112) → (N, 512)."""
    x = r.conv(r.F.pad(x, (1, 1, 1, 1)), "conv1_conv", 64, 3, bias=False)
    x = r.prelu(r.bn(x, "conv1_bn", EPS), "conv1_prelu")
    for stage, filters, blocks in (("conv2", 64, 3), ("conv3", 128, 4), ("conv4", 256, 6), ("conv5", 512, 3)):
        for i in range(1, blocks + 1):
            x = _block(r, x, f"{stage}_block{i}", filters, 2 if i == 1 else 1, i == 1)
    x = r.bn(x, "batch_normalization", EPS).permute(0, 2, 3, 1).flatten(1)  # Keras flattens NHWC
    return r.bn(r.dense(x, "dense", 512), "embedding", EPS)


class ArcFace(KerasRecognizer):
    """ArcFace ResNet-34 from deepface's ``arcface_weights.h5``."""

    architecture = staticmethod(arcface_resnet34)
    # the head's first two layers were left unnamed, so Keras numbered them ("dense_1", ...) in the
    # session that saved the file; any numbering is accepted
    canonical = staticmethod(rename(r"^(batch_normalization|dense)_\d+$", r"\1"))
