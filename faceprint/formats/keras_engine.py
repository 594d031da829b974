"""Keras layers on PyTorch: one engine for every Keras-format network faceprint runs.

A network is written once, as a plain function of a :class:`KerasRun` and an NCHW tensor; every
weighted layer is called by its Keras layer name. Run on "meta" tensors (no data, no memory), the
same function declares the file's layout — ``{layer: (op, {kind: Keras shape})}`` — which gives the
parameter count and is what :func:`load_params` checks a file against, name by name and shape by
shape. Run on real tensors with the loaded parameters, it computes the output. The recognizers
(:mod:`faceprint.recognition.keras_zoo`) write their architectures this way;
:class:`~faceprint.formats.keras_graph.KerasGraph` drives the same engine from a model config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceprint.errors import ConfigError, WeightsFormatError
from faceprint.formats.keras_h5 import same_pad
from faceprint.models.runtime import torch_module

#: ``forward(run, x, **options)`` → output tensor; ``x`` is (N, 3, H, W) float32
Architecture = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class LayerSpec:
    op: str  # "conv" | "separable" | "bn" | "dense" | "local" | "prelu"
    shapes: dict[str, tuple[int, ...]]  # Keras weight kind → Keras shape
    eps: float = 0.0
    window: tuple[int, int, int] = (0, 0, 0)  # "local": kernel height, width, input channels


@dataclass
class KerasRun:
    """What an architecture function calls its weighted layers through (declare or execute)."""

    torch: Any
    params: dict[str, dict[str, Any]] | None = None  # None: declare on meta tensors
    layout: dict[str, LayerSpec] = field(default_factory=dict)
    trace: dict[str, Any] | None = None  # set to a dict to keep each named layer's output (tests)

    @property
    def F(self) -> Any:
        return self.torch.nn.functional

    def _declare(self, name: str, spec: LayerSpec) -> dict[str, Any]:
        if name in self.layout:
            raise ConfigError(f"layer name {name!r} is used twice")
        self.layout[name] = spec
        meta: dict[str, Any] = {}
        for kind, shape in spec.shapes.items():
            meta[kind] = self.torch.empty(_torch_shape(spec.op, kind, shape), device="meta")
        return meta

    def _out(self, name: str, y: Any) -> Any:
        if self.trace is not None:
            self.trace[name] = y
        return y

    def pad_same(self, x: Any, kh: int, kw: int, sh: int, sw: int, value: float = 0.0) -> Any:
        """TensorFlow "same" padding (the odd pixel goes after)."""
        (top, bottom), (left, right) = same_pad(x.shape[2], kh, sh), same_pad(x.shape[3], kw, sw)
        return self.F.pad(x, (left, right, top, bottom), value=value)

    def conv(
        self, x: Any, name: str, filters: int, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1,
        padding: str = "valid", bias: bool = True,
    ) -> Any:  # fmt: skip
        """Keras Conv2D."""
        (kh, kw), (sh, sw) = pair(kernel), pair(stride)
        if self.params is None:
            shapes = {"kernel": (kh, kw, int(x.shape[1]), filters)} | ({"bias": (filters,)} if bias else {})
            p = self._declare(name, LayerSpec("conv", shapes))
            w, b = p["kernel"], p.get("bias")
        else:
            w, b = self.params[name]["kernel"], self.params[name].get("bias")
        if padding == "same":
            x = self.pad_same(x, kh, kw, sh, sw)
        return self._out(name, self.F.conv2d(x, w, b, stride=(sh, sw)))

    def separable(
        self, x: Any, name: str, filters: int, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1,
        padding: str = "valid", bias: bool = True, multiplier: int = 1,
    ) -> Any:  # fmt: skip
        """Keras SeparableConv2D: a depthwise convolution, then a 1x1 one (bias on the second)."""
        (kh, kw), (sh, sw), c = pair(kernel), pair(stride), int(x.shape[1])
        if self.params is None:
            shapes = {"depthwise_kernel": (kh, kw, c, multiplier), "pointwise_kernel": (1, 1, c * multiplier, filters)}
            p = self._declare(name, LayerSpec("separable", shapes | ({"bias": (filters,)} if bias else {})))
        else:
            p = self.params[name]
        if padding == "same":
            x = self.pad_same(x, kh, kw, sh, sw)
        x = self.F.conv2d(x, p["depthwise_kernel"], None, stride=(sh, sw), groups=c)
        return self._out(name, self.F.conv2d(x, p["pointwise_kernel"], p.get("bias")))

    def bn(self, x: Any, name: str, eps: float, scale: bool = True, center: bool = True) -> Any:
        """Keras BatchNormalization at inference: (x - mean) / sqrt(var + eps) * gamma + beta
        (no gamma without ``scale``, no beta without ``center``)."""
        if self.params is None:
            c = (int(x.shape[1]),)
            shapes = ({"gamma": c} if scale else {}) | ({"beta": c} if center else {})
            shapes |= {"moving_mean": c, "moving_variance": c}
            self._declare(name, LayerSpec("bn", shapes, eps))
            return x
        p = self.params[name]
        shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
        return self._out(name, x * p["scale"].view(shape) + p["shift"].view(shape))

    def prelu(self, x: Any, name: str) -> Any:
        """Keras PReLU with one slope per channel (``shared_axes=[1, 2]``)."""
        if self.params is None:
            c = int(x.shape[1])
            alpha = self._declare(name, LayerSpec("prelu", {"alpha": (1, 1, c)}))["alpha"].reshape(c)
        else:
            alpha = self.params[name]["alpha"]
        return self._out(name, self.F.prelu(x, alpha))

    def local(self, x: Any, name: str, filters: int, k: int, stride: int = 1) -> Any:
        """Keras LocallyConnected2D ("valid", implementation 1): a convolution with unshared weights."""
        n, c, h, w = x.shape
        oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
        if self.params is None:
            shapes = {"kernel": (oh * ow, k * k * int(c), filters), "bias": (oh, ow, filters)}
            p = self._declare(name, LayerSpec("local", shapes, window=(k, k, int(c))))
            wt, b = p["kernel"], p["bias"]
        else:
            wt, b = self.params[name]["kernel"], self.params[name]["bias"]
        cols = self.F.unfold(x, k, stride=stride)  # (N, C*k*k, positions), channel-major like wt
        y = self.torch.einsum("ncl,lcf->nfl", cols, wt).reshape(n, filters, oh, ow)
        return self._out(name, y + b)

    def dense(self, x: Any, name: str, units: int, bias: bool = True) -> Any:
        if self.params is None:
            shapes = {"kernel": (int(x.shape[1]), units)} | ({"bias": (units,)} if bias else {})
            p = self._declare(name, LayerSpec("dense", shapes))
            w, b = p["kernel"], p.get("bias")
        else:
            w, b = self.params[name]["kernel"], self.params[name].get("bias")
        return self._out(name, self.F.linear(x, w, b))


def pair(v: Any) -> tuple[int, int]:
    """Keras' int-or-pair arguments (kernel_size, strides, pool_size) as a pair."""
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _depthwise(k: np.ndarray) -> np.ndarray:
    """Keras depthwise kernel (kh, kw, in, multiplier) → torch grouped (in * multiplier, 1, kh, kw)."""
    return k.transpose(2, 3, 0, 1).reshape(k.shape[2] * k.shape[3], 1, *k.shape[:2])


def _torch_shape(op: str, kind: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    if kind == "depthwise_kernel":
        return (shape[2] * shape[3], 1, shape[0], shape[1])
    if kind == "pointwise_kernel":
        return (shape[3], shape[2], shape[0], shape[1])
    if op == "local":
        return shape if kind == "kernel" else (shape[2], shape[0], shape[1])
    if kind == "kernel" and op == "conv":
        return (shape[3], shape[2], shape[0], shape[1])
    if kind == "kernel" and op == "dense":
        return (shape[1], shape[0])
    return shape


def declare(arch: Architecture, input_size: tuple[int, int], **options: Any) -> dict[str, LayerSpec]:
    """The Keras weight layout of ``arch`` for (width, height) inputs, in call order."""
    torch = torch_module()
    run = KerasRun(torch)
    arch(run, torch.empty((1, 3, input_size[1], input_size[0]), device="meta"), **options)
    return run.layout


def param_count(layout: dict[str, LayerSpec]) -> int:
    """Keras' "Total params": every stored array, batch-norm moving statistics included."""
    return sum(math.prod(s) for spec in layout.values() for s in spec.shapes.values())


def load_params(
    layout: dict[str, LayerSpec], weights: dict[str, dict[str, np.ndarray]], device: Any,
    canonical: Callable[[str], str] = str, source: str = "weights file",
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Torch parameters for ``layout`` from ``{layer: {kind: array}}``, every name and shape checked.

    ``canonical`` maps both the file's and the layout's layer names to one spelling, for releases
    whose layer names differ only in a known, harmless way. Batch norms are folded into scale/shift.
    """
    torch = torch_module()
    by_name = {canonical(n): w for n, w in weights.items() if w}
    wanted = {canonical(n): (n, s) for n, s in layout.items()}
    if len(by_name) != sum(1 for w in weights.values() if w) or len(wanted) != len(layout):
        raise WeightsFormatError(f"{source}: two layers share one name once normalised; the file cannot be read by name")
    missing = sorted(set(wanted) - set(by_name))
    extra = sorted(set(by_name) - set(wanted))
    if missing or extra:
        raise WeightsFormatError(
            f"{source}: layer names do not match the architecture; missing {missing[:5]} ({len(missing)}), "
            f"unexpected {extra[:5]} ({len(extra)})"
        )

    def tensor(a: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

    out: dict[str, dict[str, Any]] = {}
    for key, (name, spec) in wanted.items():
        arrays = by_name[key]
        if set(arrays) != set(spec.shapes):
            raise WeightsFormatError(f"{source}: layer {name!r} holds {sorted(arrays)}, expected {sorted(spec.shapes)}")
        for kind, shape in spec.shapes.items():
            if tuple(arrays[kind].shape) != shape:
                raise WeightsFormatError(f"{source}: {name}/{kind} is {arrays[kind].shape}, expected {shape}")
        if spec.op == "bn":
            mean, var = arrays["moving_mean"].astype(np.float64), arrays["moving_variance"].astype(np.float64)
            gamma = arrays.get("gamma", np.ones_like(mean)).astype(np.float64)
            s = gamma / np.sqrt(var + spec.eps)
            out[name] = {"scale": tensor(s), "shift": tensor(arrays.get("beta", np.zeros_like(mean)) - mean * s)}
        elif spec.op == "prelu":
            out[name] = {"alpha": tensor(arrays["alpha"].reshape(-1))}
        elif spec.op == "separable":
            out[name] = {"depthwise_kernel": tensor(_depthwise(arrays["depthwise_kernel"])),
                         "pointwise_kernel": tensor(arrays["pointwise_kernel"].transpose(3, 2, 0, 1))}
            if "bias" in arrays:
                out[name]["bias"] = tensor(arrays["bias"])
        elif spec.op == "local":
            # Keras flattens each patch (kh, kw, in); unfold gives (in, kh, kw)
            kh, kw, cin = spec.window
            k = arrays["kernel"]
            k = k.reshape(k.shape[0], kh, kw, cin, k.shape[2]).transpose(0, 3, 1, 2, 4).reshape(k.shape)
            out[name] = {"kernel": tensor(k), "bias": tensor(arrays["bias"].transpose(2, 0, 1))}
        else:
            k = arrays["kernel"]
            k = k.transpose(3, 2, 0, 1) if spec.op == "conv" else k.T
            out[name] = {"kernel": tensor(k)} | ({"bias": tensor(arrays["bias"])} if "bias" in arrays else {})
    return out
