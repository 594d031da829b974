"""SphereFace-20 (Liu et al., CVPR 2017): the architecture written here, the weights read from the
official Caffe ``.caffemodel``, run as an ONNX graph on ONNX Runtime (no Caffe, no torch).

Network (``sphereface_deploy.prototxt``): four stages of a stride-2 3x3 convolution followed by
1, 2, 4 and 1 residual units of two 3x3 convolutions, PReLU after every convolution, then ``fc5``
(512-d) on the 512x7x6 map of a 112x96 input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from faceprint.formats.caffe import CaffeFormatError, CaffeNet, read_caffemodel
from faceprint.formats.onnx_graph import GraphBuilder
from faceprint.models.runtime import onnx_session
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer
from faceprint.recognition.preprocess import affine, check_normalization

INPUT, OUTPUT = "data", "fc5"


@dataclass(frozen=True)
class Op:
    """One layer: ``kind`` conv (stride), prelu, sum or fc; ``blobs`` the shapes its weights must have."""

    kind: str
    name: str
    bottoms: tuple[str, ...]
    top: str
    blobs: tuple[tuple[int, ...], ...] = ()
    stride: int = 1


def sphereface20(size: tuple[int, int] = (112, 96), dim: int = 512) -> tuple[Op, ...]:
    """SphereFace-20's layers in order, named as in the official prototxt."""
    ops: list[Op] = []
    x, channels = INPUT, 3

    def conv(name: str, bottom: str, out: int, stride: int, c_in: int) -> None:
        ops.append(Op("conv", name, (bottom,), name, ((out, c_in, 3, 3), (out,)), stride))
        ops.append(Op("prelu", "relu" + name.removeprefix("conv"), (name,), name, ((out,),)))

    h, w = size
    for stage, (out, units) in enumerate(((64, 1), (128, 2), (256, 4), (512, 1)), start=1):
        down = f"conv{stage}_1"
        conv(down, x, out, 2, channels)
        h, w = (h + 1) // 2, (w + 1) // 2  # 3x3, stride 2, pad 1
        prev = down
        for u in range(units):
            a, b = f"conv{stage}_{2 + 2 * u}", f"conv{stage}_{3 + 2 * u}"
            conv(a, prev, out, 1, out)
            conv(b, a, out, 1, out)
            res = f"res{stage}_{3 + 2 * u}"
            ops.append(Op("sum", res, (prev, b), res))
            prev = res
        x, channels = prev, out
    ops.append(Op("fc", OUTPUT, (x,), OUTPUT, ((dim, channels * h * w), (dim,))))
    return tuple(ops)


def param_count(ops: tuple[Op, ...]) -> int:
    return sum(int(np.prod(s)) for op in ops for s in op.blobs)


def weights_from(net: CaffeNet, ops: tuple[Op, ...]) -> dict[str, tuple[np.ndarray, ...]]:
    """Each op's blobs from the file, checked by layer name, type, shape and convolution geometry."""
    kinds = {"conv": "Convolution", "prelu": "PReLU", "fc": "InnerProduct"}
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for op in ops:
        if not op.blobs:
            continue
        layer = net.layer(op.name)
        if layer.type != kinds[op.kind]:
            raise CaffeFormatError(f"layer {op.name!r} is a {layer.type}, expected {kinds[op.kind]}", net.path)
        shapes = tuple(b.shape for b in layer.blobs)
        if op.kind == "prelu" and shapes == ((1,),):
            raise CaffeFormatError(f"layer {op.name!r} shares one PReLU slope; SphereFace-20 has one per channel", net.path)
        if shapes != op.blobs:
            raise CaffeFormatError(f"layer {op.name!r} holds blobs {shapes}, expected {op.blobs}", net.path)
        p = layer.params
        if op.kind == "conv" and p and (p["kernel"] != (3, 3) or p["stride"] != (op.stride,) * 2 or p["pad"] != (1, 1)
                                        or p["group"] != 1 or p["dilation"] != (1,)):  # fmt: skip
            raise CaffeFormatError(f"layer {op.name!r} geometry {p} differs from SphereFace-20's", net.path)
        out[op.name] = layer.blobs
    return out


def build_onnx(ops: tuple[Op, ...], weights: dict[str, tuple[np.ndarray, ...]], size: tuple[int, int],
               mean: float, scale: float) -> bytes:  # fmt: skip
    """``data`` (N, H, W, 3) uint8 in the model's colour order → ``fc5`` (N, 512) float32."""
    g = GraphBuilder("sphereface20")
    blobs = {INPUT: g.image_input(INPUT, size, mean, scale)}
    for op in ops:
        ins = [blobs[b] for b in op.bottoms]
        if op.kind == "conv":
            w, b = weights[op.name]
            y = g.op("Conv", [ins[0], g.const(w, "w"), g.const(b, "b")], kernel_shape=[3, 3],
                     strides=[op.stride] * 2, pads=[1, 1, 1, 1])  # fmt: skip
        elif op.kind == "prelu":
            y = g.op("PRelu", [ins[0], g.const(weights[op.name][0].reshape(-1, 1, 1), "slope")])
        elif op.kind == "sum":
            y = g.op("Add", ins)
        else:
            w, b = weights[op.name]
            y = g.op("Gemm", [g.op("Flatten", ins, axis=1), g.const(w, "fc_w"), g.const(b, "fc_b")], transB=1, out=OUTPUT)
        blobs[op.top] = y
    g.output(OUTPUT, np.float32, ("N", ops[-1].blobs[0][0]))
    return g.model()


class SphereFace(Recognizer):
    """SphereFace-20 from its Caffe model: (N, 112, 96, 3) BGR crops → 512-d ``fc5`` features."""

    def __init__(self, spec: ModelSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.normalization = check_normalization(spec.normalization or "arcface")

    shareable = True  # an InferenceSession runs from many threads

    def load_options(self) -> tuple:
        return (self.normalization,)  # built into the graph

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        w, h = self.alignment.size
        ops = sphereface20((h, w), self.dim)
        model = build_onnx(ops, weights_from(read_caffemodel(path), ops), (h, w), *affine(self.normalization))
        return onnx_session(model, self.device)

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        return self._model.run([OUTPUT], {INPUT: batch})[0]
