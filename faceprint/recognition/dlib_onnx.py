"""dlib's face recognition ResNet converted to an ONNX graph and run on ONNX Runtime, batched.

The graph is built in memory from faceprint's own reading of the ``.dat`` file (no dlib, no
torch, no ``onnx`` package); :func:`export_onnx` writes it to a file for other runtimes.
Embeddings match dlib's to ~1e-6 in float32.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from faceprint.formats.dlib_dat import DlibNet, read_net
from faceprint.formats.dlib_program import check_input_size, program
from faceprint.formats.onnx_graph import GraphBuilder
from faceprint.models.runtime import onnx_session
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer

log = logging.getLogger("faceprint")

INPUT, OUTPUT = "chips", "embeddings"


def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def build_onnx(net: DlibNet, size: tuple[int, int]) -> bytes:
    """A serialized ONNX model: ``chips`` (N, rows, cols, 3) uint8 RGB → ``embeddings`` (N, d) float32.

    ``size`` (rows, cols) fixes the spatial shapes, which dlib's padded residual adds need.
    """
    steps, convs, affines, fc = program(net)
    inp = net.input.params
    g = GraphBuilder("dlib_resnet")
    x = g.image_input(INPUT, size, np.asarray(inp["mean_rgb"]), inp["scale"])
    shape = (3, *size)  # (C, H, W) of x
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for op, arg in steps:
        if op == "conv":
            idx, (sy, sx), (py, px) = arg
            w = convs[idx]["weight"]
            x = g.op(
                "Conv", [x, g.const(w, "w"), g.const(convs[idx]["bias"], "b")],
                kernel_shape=w.shape[2:], strides=[sy, sx], pads=[py, px, py, px],
            )  # fmt: skip
            shape = (w.shape[0], _out_size(shape[1], w.shape[2], sy, py), _out_size(shape[2], w.shape[3], sx, px))
        elif op == "relu":
            x = g.op("Relu", [x])
        elif op == "tag":
            tags[arg] = (x, shape)
        elif op == "skip":
            x, shape = tags[arg]
        elif op == "add_prev":
            x, shape = _padded_add(g, (x, shape), tags[arg])
        elif op == "affine":
            gamma, beta = (affines[arg][i].reshape(1, -1, 1, 1) for i in (0, 1))
            x = g.op("Add", [g.op("Mul", [x, g.const(gamma, "gamma")]), g.const(beta, "beta")])
        elif op in ("max_pool", "avg_pool"):
            kind = "Max" if op == "max_pool" else "Average"
            if arg is None:
                x, shape = g.op(f"Global{kind}Pool", [x]), (shape[0], 1, 1)
            else:
                (ky, kx), (sy, sx), (py, px) = arg
                # dlib averages over the window's part inside the image only: count_include_pad=0
                x = g.op(f"{kind}Pool", [x], kernel_shape=[ky, kx], strides=[sy, sx], pads=[py, px, py, px])
                shape = (shape[0], _out_size(shape[1], ky, sy, py), _out_size(shape[2], kx, sx, px))
        elif op == "fc":
            flat = g.op("Flatten", [x], axis=1)
            ins = [flat, g.const(fc["weight"], "fc_w")]
            if fc["bias"] is not None:
                ins.append(g.const(np.asarray(fc["bias"], np.float32).reshape(-1), "fc_b"))
            x = g.op("Gemm", ins, transB=1)
            shape = (fc["weight"].shape[0], 1, 1)
    g.op("Identity", [x], out=OUTPUT)
    g.output(OUTPUT, np.float32, ("N", shape[0]))
    return g.model()


def _padded_add(g: GraphBuilder, a: tuple[str, tuple[int, ...]], b: tuple[str, tuple[int, ...]]) -> tuple[str, tuple]:
    """dlib's add_prev: sum over the union of both extents, zero-filling the smaller at the end of each axis."""
    (xa, sa), (xb, sb) = a, b
    if sa == sb:
        return g.op("Add", [xa, xb]), sa
    union = tuple(max(p, q) for p, q in zip(sa, sb))

    def grow(x: str, s: tuple[int, ...]) -> str:
        if s == union:
            return x
        pads = np.array([0, 0, 0, 0, 0, *(u - d for u, d in zip(union, s))], np.int64)
        return g.op("Pad", [x, g.const(pads, "pads")])

    return g.op("Add", [grow(xa, sa), grow(xb, sb)]), union


def export_onnx(dat_path: str | os.PathLike[str], out_path: str | os.PathLike[str], size: tuple[int, int] = (150, 150)) -> str:
    """Write dlib's network in ``dat_path`` as an ONNX file at ``out_path`` (atomically)."""
    data = build_onnx(read_net(os.fspath(dat_path)), size)
    out = os.fspath(out_path)
    tmp = f"{out}.part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    return out


class DlibOnnx(Recognizer):
    """dlib's ResNet on ONNX Runtime: same weights and embeddings as dlib, batched, CPU or CUDA.

    Args:
        device: "cpu", "cuda" (onnxruntime-gpu) or "auto"; "cuda" without a usable GPU raises DeviceError.
        threads: intra-op threads for the CPU (default: onnxruntime's choice, one per core).
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        weights: dict[str, str] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        super().__init__(spec, weights=weights, device=device, batch_size=batch_size)
        self.threads = threads

    shareable = True  # an InferenceSession runs from many threads

    def load_options(self) -> tuple:
        return (self.threads,)

    def _load(self) -> Any:
        net = read_net(self.weight_path(self.spec.files[0]))
        model = build_onnx(net, check_input_size(net, self.spec.input_size))
        return onnx_session(model, self.device, self.threads)

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        return self._model.run([OUTPUT], {INPUT: batch})[0]
