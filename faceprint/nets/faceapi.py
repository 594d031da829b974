"""face-api's networks (vladmandic/face-api, after justadudewhohacks/face-api.js) written as ONNX graphs.

The npm package ships only TF.js weights (:mod:`faceprint.formats.tfjs`); the layers are rebuilt here from
face-api's published network definitions and run on ONNX Runtime:

- ``age_gender``: TinyXception with 2 middle blocks (entry conv, 3 reduction blocks, a separable
  conv to 512 channels), global average pool, fully connected age (years) and gender (softmax over
  male, female). Input scaled as ``(rgb - mean) / 256``.
- ``expression`` / ``landmarks68``: the "FaceFeatureExtractor": four dense blocks of four separable
  convolutions (32, 64, 128, 256 channels, each block halves the size), global average pool, one
  fully connected layer: 7 expression logits (softmaxed) or 136 landmark coordinates (x, y in
  [0, 1] of the input square). Input scaled as ``(rgb - mean) / 255``.

All take a 112x112 RGB float crop, 0-255, NHWC. TensorFlow's "same" padding is written out per
layer (at stride 2 on an even size it pads only after), so the graphs match TF.js bit for bit up to
float rounding.
"""

from __future__ import annotations

import os

import numpy as np

from faceprint.formats.keras_h5 import same_pad
from faceprint.formats.onnx_graph import GraphBuilder
from faceprint.formats.tfjs import take

SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)
INPUT = "image"
KINDS = {"age_gender": ("age", "gender"), "expression": ("probabilities",), "landmarks68": ("points",)}


def same_pads(size: int, k: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow "same" padding: (before, after, output size) along one axis."""
    before, after = same_pad(size, k, stride)
    return before, after, -(-size // stride)


class _Net:
    """Emits face-api layers into a :class:`GraphBuilder`, checking each tensor's name and shape."""

    def __init__(self, kind: str, weights: dict[str, np.ndarray], source: str | os.PathLike) -> None:
        self.g = GraphBuilder(f"faceapi_{kind}")
        self.w, self.source = weights, source
        self.size = SIZE

    def t(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        return take(self.w, name, shape, self.source).astype(np.float32)

    def input(self, divisor: float) -> str:
        g = self.g
        x = g.input(INPUT, np.float32, ("N", SIZE, SIZE, 3))
        x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
        mean = g.const(np.asarray(MEAN_RGB, np.float32).reshape(1, 3, 1, 1), "mean")
        return g.op("Mul", [g.op("Sub", [x, mean]), g.const(np.float32(1.0 / divisor), "scale")])

    def _pads(self, k: int, stride: int) -> list[int]:
        a, b, out = same_pads(self.size, k, stride)
        self.size = out
        return [a, a, b, b]

    def conv(self, x: str, prefix: str, k: int, cin: int, cout: int, stride: int) -> str:
        w = self.t(f"{prefix}/filters", (k, k, cin, cout)).transpose(3, 2, 0, 1)
        b = self.t(f"{prefix}/bias", (cout,))
        return self.g.op("Conv", [x, self.g.const(w, "w"), self.g.const(b, "b")], kernel_shape=[k, k],
                         strides=[stride, stride], pads=self._pads(k, stride))  # fmt: skip

    def sep(self, x: str, prefix: str, cin: int, cout: int, stride: int = 1) -> str:
        g = self.g
        dw = self.t(f"{prefix}/depthwise_filter", (3, 3, cin, 1)).transpose(2, 3, 0, 1)
        pw = self.t(f"{prefix}/pointwise_filter", (1, 1, cin, cout)).transpose(3, 2, 0, 1)
        b = self.t(f"{prefix}/bias", (cout,))
        y = g.op("Conv", [x, g.const(dw, "dw")], kernel_shape=[3, 3], strides=[stride, stride],
                 pads=self._pads(3, stride), group=cin)  # fmt: skip
        return g.op("Conv", [y, g.const(pw, "pw"), g.const(b, "b")], kernel_shape=[1, 1])

    def relu(self, x: str) -> str:
        return self.g.op("Relu", [x])

    def add(self, *xs: str) -> str:
        out = xs[0]
        for x in xs[1:]:
            out = self.g.op("Add", [out, x])
        return out

    def fc(self, x: str, prefix: str, cin: int, cout: int, out: str | None = None) -> str:
        w, b = self.t(f"{prefix}/weights", (cin, cout)), self.t(f"{prefix}/bias", (cout,))
        return self.g.op("Gemm", [x, self.g.const(w, "fc_w"), self.g.const(b, "fc_b")], out=out)

    def pool(self, x: str) -> str:
        # avgPool 7x7, stride 2, "valid" on the 7x7 map: one mean per channel
        if self.size != 7:
            raise ValueError(f"face-api's head expects a 7x7 map, got {self.size}")
        return self.g.op("Flatten", [self.g.op("GlobalAveragePool", [x])], axis=1)

    # --- blocks --------------------------------------------------------------------------------
    def reduction(self, x: str, prefix: str, cin: int, cout: int, activate_input: bool = True) -> str:
        size = self.size
        y = self.relu(x) if activate_input else x
        y = self.sep(y, f"{prefix}/separable_conv0", cin, cout)
        y = self.sep(self.relu(y), f"{prefix}/separable_conv1", cout, cout)
        y = self.g.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=self._pads(3, 2))
        self.size = size
        return self.add(y, self.conv(x, f"{prefix}/expansion_conv", 1, cin, cout, 2))

    def main_block(self, x: str, prefix: str, c: int) -> str:
        y = x
        for i in range(3):
            y = self.sep(self.relu(y), f"{prefix}/separable_conv{i}", c, c)
        return self.add(y, x)

    def dense(self, x: str, prefix: str, cin: int, cout: int, first: bool) -> str:
        if first:
            o1 = self.relu(self.conv(x, f"{prefix}/conv0", 3, cin, cout, 2))
        else:
            o1 = self.relu(self.sep(x, f"{prefix}/conv0", cin, cout, 2))
        o2 = self.sep(o1, f"{prefix}/conv1", cout, cout)
        o3 = self.sep(self.relu(self.add(o1, o2)), f"{prefix}/conv2", cout, cout)
        o4 = self.sep(self.relu(self.add(o1, o2, o3)), f"{prefix}/conv3", cout, cout)
        return self.relu(self.add(o1, o2, o3, o4))


def build_onnx(kind: str, weights: dict[str, np.ndarray], source: str | os.PathLike = "face-api weights") -> bytes:
    """The ONNX model of face-api network ``kind`` (see :data:`KINDS` for its outputs)."""
    if kind not in KINDS:
        raise ValueError(f"unknown face-api network {kind!r}; known: {', '.join(KINDS)}")
    n = _Net(kind, weights, source)
    g = n.g
    if kind == "age_gender":
        x = n.relu(n.conv(n.input(256.0), "entry_flow/conv_in", 3, 3, 32, 2))
        x = n.reduction(x, "entry_flow/reduction_block_0", 32, 64, activate_input=False)
        x = n.reduction(x, "entry_flow/reduction_block_1", 64, 128)
        for i in range(2):
            x = n.main_block(x, f"middle_flow/main_block_{i}", 128)
        x = n.reduction(x, "exit_flow/reduction_block", 128, 256)
        x = n.pool(n.relu(n.sep(x, "exit_flow/separable_conv", 256, 512)))
        n.fc(x, "fc/age", 512, 1, out="age")
        g.op("Softmax", [n.fc(x, "fc/gender", 512, 2)], axis=1, out="gender")
        g.output("age", np.float32, ("N", 1))
        g.output("gender", np.float32, ("N", 2))
        return g.model()
    x = n.input(255.0)
    for i, (cin, cout) in enumerate(((3, 32), (32, 64), (64, 128), (128, 256))):
        x = n.dense(x, f"dense{i}", cin, cout, first=i == 0)
    x = n.pool(x)
    if kind == "expression":
        g.op("Softmax", [n.fc(x, "fc", 256, 7)], axis=1, out="probabilities")
        g.output("probabilities", np.float32, ("N", 7))
    else:
        n.fc(x, "fc", 256, 136, out="points")
        g.output("points", np.float32, ("N", 136))
    return g.model()


def square_crop(image_rgb: np.ndarray, box: tuple[float, float, float, float], margin: float = 0.0) -> tuple[np.ndarray, tuple[float, float, float]]:
    """face-api's crop: the box (grown by ``margin`` of its size per side) clipped to the image, padded
    to a square with black, centred, then resized to 112x112. Returns the float32 crop and
    (x0, y0, side) of the square in image pixels, to map crop coordinates back."""
    import cv2

    h, w = image_rgb.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    cl, ct = max(int(np.floor(x1 - mx)), 0), max(int(np.floor(y1 - my)), 0)
    cr, cb = min(int(np.ceil(x2 + mx)), w), min(int(np.ceil(y2 + my)), h)
    if cr <= cl or cb <= ct:
        from faceprint.errors import ConfigError

        raise ConfigError(f"face box {box} lies outside the {w}x{h} image")
    crop = image_rgb[ct:cb, cl:cr]
    ch, cw = crop.shape[:2]
    side = max(ch, cw)
    top, left = (side - ch) // 2, (side - cw) // 2
    if ch != cw:
        crop = cv2.copyMakeBorder(crop, top, side - ch - top, left, side - cw - left, cv2.BORDER_CONSTANT, value=0)
    out = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR if side < SIZE else cv2.INTER_AREA)
    return out.astype(np.float32), (float(cl - left), float(ct - top), float(side))
