"""dlib's ResNet as a flat program of steps (affines folded into convolutions), shared by the
PyTorch and ONNX backends. The parsed file is not kept: each backend holds its own converted
copy, shared between objects by :class:`faceprint.models.runtime.LazyModel`."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.formats.dlib_dat import DlibFormatError, DlibNet, Layer

Step = tuple[str, Any]


def program(net: DlibNet) -> tuple[list[tuple[str, Any]], list[dict[str, np.ndarray]], list[np.ndarray], dict]:
    """Flatten the layers into (op, arg) steps, folding each affine into the convolution before it.

    Folding is exact in real arithmetic (gamma * (w*x + b) + beta) and saves a pass over every feature map.
    """
    layers = list(net.layers[1:-1])  # between the input and the loss layer
    steps: list[tuple[str, Any]] = []
    convs: list[dict[str, np.ndarray]] = []
    affines: list[np.ndarray] = []  # (2, C): gamma, beta of affines that follow no convolution
    fc: dict[str, Any] = {}
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if layer.kind == "con":
            w = layer.params["filters"].astype(np.float64)
            b = layer.params["biases"]
            b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
            if nxt is not None and nxt.kind == "affine":
                g, beta = nxt.params["gamma"].astype(np.float64), nxt.params["beta"].astype(np.float64)
                w, b = w * g[:, None, None, None], b * g + beta
                i += 1
            steps.append(("conv", (len(convs), layer.params["stride"], layer.params["padding"])))
            convs.append({"weight": w.astype(np.float32), "bias": b.astype(np.float32)})
        elif layer.kind == "affine":
            steps.append(("affine", len(affines)))
            affines.append(np.stack([layer.params["gamma"], layer.params["beta"]]).astype(np.float32))
        elif layer.kind in ("relu", "tag", "skip", "add_prev"):
            steps.append((layer.kind, layer.params.get("tag")))
        elif layer.kind in ("max_pool", "avg_pool"):
            steps.append((layer.kind, pool_args(layer)))
        elif layer.kind == "fc":
            if fc or i != len(layers) - 1:
                raise DlibFormatError("only one fully connected layer, at the end, is supported", net.path)
            fc = {"weight": layer.params["weights"].T.copy(), "bias": layer.params["biases"]}
            steps.append(("fc", None))
        else:
            raise DlibFormatError(f"layer kind {layer.kind!r} is not supported by the converted backends", net.path)
        i += 1
    return steps, convs, affines, fc


def pool_args(layer: Layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """(window, stride, padding), or None for dlib's whole-input pooling (window 0x0)."""
    window = layer.params["window"]
    if window == (0, 0):
        return None
    return window, layer.params["stride"], layer.params["padding"]


def check_input_size(net: DlibNet, input_size: tuple[int, int] | None) -> tuple[int, int]:
    """(rows, columns) the network takes; a sized input layer must agree with the registry's
    ``input_size`` (width, height)."""
    size = net.input.params["size"]
    if size is not None and input_size is not None and tuple(reversed(size)) != input_size:
        raise DlibFormatError(f"network input is {size[1]}x{size[0]}, the registry says {input_size}", net.path)
    if size is not None:
        return tuple(size)
    if input_size is None:
        raise DlibFormatError("the network's input size is not recorded and the registry gives none", net.path)
    return input_size[1], input_size[0]
