"""OpenFace nn4.small2.v1 (Amos et al. 2016): 96x96 RGB in [0, 1] → 128-d unit vector.

A GoogLeNet-style network (inception blocks 3a-3c, 4a, 4e, 5a, 5b) as deepface ported it to Keras
(``openface_weights.h5``): convolutions with bias, each followed by batch norm (eps 1e-5) and ReLU;
local response normalisation after the first two stages; "L2 pooling" (sqrt of 9 x the 3x3 mean of
squares) in blocks 3b, 4a and 5a. 3,743,280 parameters.
"""

from __future__ import annotations

from typing import Any

from faceprint.formats.keras_engine import KerasRun
from faceprint.recognition.keras_zoo import KerasRecognizer


def _cbr(r: KerasRun, x: Any, conv: str, bn: str, filters: int, k: int = 1, stride: int = 1, pad: int = 0) -> Any:
    """Zero padding, convolution, batch norm, ReLU."""
    if pad:
        x = r.F.pad(x, (pad, pad, pad, pad))
    return r.torch.relu(r.bn(r.conv(x, conv, filters, k, stride), bn, 1e-5))


def _lrn(r: KerasRun, x: Any) -> Any:
    # TensorFlow's lrn (depth radius 5, bias 1, alpha 1e-4, beta 0.75) sums over 11 channels without
    # dividing by the window, where torch's averages: hence alpha * 11.
    return r.F.local_response_norm(x, 11, alpha=1e-4 * 11, beta=0.75, k=1.0)


def _l2_pool(r: KerasRun, x: Any) -> Any:
    return r.torch.sqrt(r.F.avg_pool2d(x * x, 3, 3) * 9)


def _pad(r: KerasRun, x: Any, top: int, bottom: int, left: int, right: int) -> Any:
    return r.F.pad(x, (left, right, top, bottom))


def _branch(r: KerasRun, x: Any, block: str, kind: str, mid: int, out: int, k: int, stride: int = 1) -> Any:
    """1x1 reduction then a k x k convolution: the 3x3 and 5x5 branches."""
    y = _cbr(r, x, f"inception_{block}_{kind}_conv1", f"inception_{block}_{kind}_bn1", mid)
    return _cbr(r, y, f"inception_{block}_{kind}_conv2", f"inception_{block}_{kind}_bn2", out, k, stride, k // 2)


def _one(r: KerasRun, x: Any, block: str, kind: str, filters: int) -> Any:
    return _cbr(r, x, f"inception_{block}_{kind}_conv", f"inception_{block}_{kind}_bn", filters)


def openface(r: KerasRun, x: Any) -> Any:
    """The network; (N, 3, 96, 96) → (N, 128), before L2 normalisation."""
    t, F = r.torch, r.F
    x = _cbr(r, x, "conv1", "bn1", 64, 7, 2, 3)
    x = _lrn(r, F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2))
    x = _cbr(r, x, "conv2", "bn2", 64)
    x = _lrn(r, _cbr(r, x, "conv3", "bn3", 192, 3, 1, 1))
    x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)  # 12x12

    pool = _pad(r, _one(r, F.max_pool2d(x, 3, 2), "3a", "pool", 32), 3, 4, 3, 4)
    x = t.cat([_branch(r, x, "3a", "3x3", 96, 128, 3), _branch(r, x, "3a", "5x5", 16, 32, 5), pool,
               _one(r, x, "3a", "1x1", 64)], 1)  # fmt: skip
    pool = _pad(r, _one(r, _l2_pool(r, x), "3b", "pool", 64), 4, 4, 4, 4)
    x = t.cat([_branch(r, x, "3b", "3x3", 96, 128, 3), _branch(r, x, "3b", "5x5", 32, 64, 5), pool,
               _one(r, x, "3b", "1x1", 64)], 1)  # fmt: skip
    pool = _pad(r, F.max_pool2d(x, 3, 2), 0, 1, 0, 1)
    x = t.cat([_branch(r, x, "3c", "3x3", 128, 256, 3, 2), _branch(r, x, "3c", "5x5", 32, 64, 5, 2), pool], 1)

    pool = _pad(r, _one(r, _l2_pool(r, x), "4a", "pool", 128), 2, 2, 2, 2)
    x = t.cat([_branch(r, x, "4a", "3x3", 96, 192, 3), _branch(r, x, "4a", "5x5", 32, 64, 5), pool,
               _one(r, x, "4a", "1x1", 256)], 1)  # fmt: skip
    pool = _pad(r, F.max_pool2d(x, 3, 2), 0, 1, 0, 1)
    x = t.cat([_branch(r, x, "4e", "3x3", 160, 256, 3, 2), _branch(r, x, "4e", "5x5", 64, 128, 5, 2), pool], 1)

    pool = _pad(r, _one(r, _l2_pool(r, x), "5a", "pool", 96), 1, 1, 1, 1)
    x = t.cat([_branch(r, x, "5a", "3x3", 96, 384, 3), pool, _one(r, x, "5a", "1x1", 256)], 1)
    pool = _pad(r, _one(r, F.max_pool2d(x, 3, 2), "5b", "pool", 96), 1, 1, 1, 1)
    x = t.cat([_branch(r, x, "5b", "3x3", 96, 384, 3), pool, _one(r, x, "5b", "1x1", 256)], 1)

    x = F.avg_pool2d(x, 3, 1).flatten(1)  # 3x3 → 1x1, so the Keras (NHWC) flatten order is the same
    return r.dense(x, "dense_layer", 128)


class OpenFace(KerasRecognizer):
    """OpenFace nn4.small2.v1 from deepface's ``openface_weights.h5``."""

    architecture = staticmethod(openface)
