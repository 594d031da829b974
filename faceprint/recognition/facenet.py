"""FaceNet (Schroff et al. 2015) as Inception-ResNet-v1 (Szegedy et al. 2016): 160x160 RGB → 128-d or 512-d.

The network of D. Sandberg's facenet models, in deepface's Keras layout (``facenet_weights.h5``,
``facenet512_weights.h5``): convolutions without bias, each followed by batch norm (eps 1e-3,
no gamma) and ReLU; 5 Block35, Mixed_6a, 10 Block17, Mixed_7a, 6 Block8 (the last unscaled and
without ReLU), global average pooling, a bias-free "Bottleneck" dense layer and its batch norm.
Input: each image standardised by its own mean and std (FaceNet's prewhitening). The output is
not L2-normalised (deepface's euclidean threshold is on the raw vector). 22,808,144 parameters (128-d).
"""

from __future__ import annotations

from typing import Any

from faceprint.formats.keras_engine import KerasRun
from faceprint.recognition.keras_zoo import KerasRecognizer, rename


def _cbr(r: KerasRun, x: Any, name: str, filters: int, k: int | tuple[int, int], stride: int = 1,
         padding: str = "same") -> Any:  # fmt: skip
    return r.torch.relu(
        r.bn(r.conv(x, name, filters, k, stride, padding, bias=False), name + "_BatchNorm", 1e-3, False)
    )


def _residual(r: KerasRun, x: Any, block: str, branches: list[Any], scale: float, relu: bool = True) -> Any:
    up = r.conv(r.torch.cat(branches, 1), f"{block}_Conv2d_1x1", int(x.shape[1]), 1, padding="same")
    x = x + up * scale
    return r.torch.relu(x) if relu else x


def _block35(r: KerasRun, x: Any, i: int) -> Any:
    b = f"Block35_{i}"
    b0 = _cbr(r, x, f"{b}_Branch_0_Conv2d_1x1", 32, 1)
    b1 = _cbr(r, _cbr(r, x, f"{b}_Branch_1_Conv2d_0a_1x1", 32, 1), f"{b}_Branch_1_Conv2d_0b_3x3", 32, 3)
    b2 = _cbr(r, x, f"{b}_Branch_2_Conv2d_0a_1x1", 32, 1)
    b2 = _cbr(r, _cbr(r, b2, f"{b}_Branch_2_Conv2d_0b_3x3", 32, 3), f"{b}_Branch_2_Conv2d_0c_3x3", 32, 3)
    return _residual(r, x, b, [b0, b1, b2], 0.17)


def _block17(r: KerasRun, x: Any, i: int) -> Any:
    b = f"Block17_{i}"
    b0 = _cbr(r, x, f"{b}_Branch_0_Conv2d_1x1", 128, 1)
    b1 = _cbr(r, x, f"{b}_Branch_1_Conv2d_0a_1x1", 128, 1)
    b1 = _cbr(r, _cbr(r, b1, f"{b}_Branch_1_Conv2d_0b_1x7", 128, (1, 7)), f"{b}_Branch_1_Conv2d_0c_7x1", 128, (7, 1))
    return _residual(r, x, b, [b0, b1], 0.1)


def _block8(r: KerasRun, x: Any, i: int, scale: float = 0.2, relu: bool = True) -> Any:
    b = f"Block8_{i}"
    b0 = _cbr(r, x, f"{b}_Branch_0_Conv2d_1x1", 192, 1)
    b1 = _cbr(r, x, f"{b}_Branch_1_Conv2d_0a_1x1", 192, 1)
    b1 = _cbr(r, _cbr(r, b1, f"{b}_Branch_1_Conv2d_0b_1x3", 192, (1, 3)), f"{b}_Branch_1_Conv2d_0c_3x1", 192, (3, 1))
    return _residual(r, x, b, [b0, b1], scale, relu)


def inception_resnet_v1(r: KerasRun, x: Any, dim: int = 128) -> Any:
    """The network; (N, 3, 160, 160) → (N, dim)."""
    t, F = r.torch, r.F
    x = _cbr(r, x, "Conv2d_1a_3x3", 32, 3, 2, "valid")
    x = _cbr(r, x, "Conv2d_2a_3x3", 32, 3, 1, "valid")
    x = _cbr(r, x, "Conv2d_2b_3x3", 64, 3)
    x = F.max_pool2d(x, 3, 2)
    x = _cbr(r, x, "Conv2d_3b_1x1", 80, 1, 1, "valid")
    x = _cbr(r, x, "Conv2d_4a_3x3", 192, 3, 1, "valid")
    x = _cbr(r, x, "Conv2d_4b_3x3", 256, 3, 2, "valid")
    for i in range(1, 6):
        x = _block35(r, x, i)
    m = "Mixed_6a_Branch"
    b0 = _cbr(r, x, f"{m}_0_Conv2d_1a_3x3", 384, 3, 2, "valid")
    b1 = _cbr(r, _cbr(r, x, f"{m}_1_Conv2d_0a_1x1", 192, 1), f"{m}_1_Conv2d_0b_3x3", 192, 3)
    b1 = _cbr(r, b1, f"{m}_1_Conv2d_1a_3x3", 256, 3, 2, "valid")
    x = t.cat([b0, b1, F.max_pool2d(x, 3, 2)], 1)
    for i in range(1, 11):
        x = _block17(r, x, i)
    m = "Mixed_7a_Branch"
    b0 = _cbr(r, _cbr(r, x, f"{m}_0_Conv2d_0a_1x1", 256, 1), f"{m}_0_Conv2d_1a_3x3", 384, 3, 2, "valid")
    b1 = _cbr(r, _cbr(r, x, f"{m}_1_Conv2d_0a_1x1", 256, 1), f"{m}_1_Conv2d_1a_3x3", 256, 3, 2, "valid")
    b2 = _cbr(r, _cbr(r, x, f"{m}_2_Conv2d_0a_1x1", 256, 1), f"{m}_2_Conv2d_0b_3x3", 256, 3)
    b2 = _cbr(r, b2, f"{m}_2_Conv2d_1a_3x3", 256, 3, 2, "valid")
    x = t.cat([b0, b1, b2, F.max_pool2d(x, 3, 2)], 1)
    for i in range(1, 6):
        x = _block8(r, x, i)
    x = _block8(r, x, 6, scale=1.0, relu=False)
    x = x.mean(dim=(2, 3))  # the dropout before the bottleneck is inactive at inference
    return r.bn(r.dense(x, "Bottleneck", dim, bias=False), "Bottleneck_BatchNorm", 1e-3, False)


def _canonical(name: str) -> str:
    # deepface's Keras code names the second branch of Block17_i / Block8_i "Branch_<i>" (Block8_6:
    # "Branch_1"); the upstream Keras port calls it "Branch_1" everywhere. Keras loads .h5 weights by
    # layer order, so the file may carry either spelling: both map to "Branch_1" here.
    return _SECOND_BRANCH(name)


_SECOND_BRANCH = rename(r"^(Block(?:17|8)_\d+)_Branch_\d+_(Conv2d_0[abc]_)", r"\1_Branch_1_\2")


class FaceNet(KerasRecognizer):
    """FaceNet (Inception-ResNet-v1) from deepface's ``facenet_weights.h5`` / ``facenet512_weights.h5``."""

    architecture = staticmethod(inception_resnet_v1)
    canonical = staticmethod(_canonical)
