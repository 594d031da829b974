"""Recognizers whose official weights are Keras 2 ``.h5`` files (deepface's releases), run on PyTorch.

A network is written once, as a plain function of a :class:`KerasRun` and an NCHW tensor; every
weighted layer is called by its Keras layer name. Run on "meta" tensors (no data, no memory), the
same function declares the file's layout — ``{layer: (op, {kind: Keras shape})}`` — which gives the
parameter count and is what :func:`load_params` checks a file against, name by name and shape by
shape. Run on real tensors with the loaded parameters, it computes the embedding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceprint.analysis.keras_h5 import _same_pad, read_weights
from faceprint.errors import ConfigError, WeightsFormatError
from faceprint.models.runtime import torch_device, torch_module
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer
from faceprint.recognition.preprocess import check_normalization, normalize

#: ``forward(run, x, **options)`` → output tensor; ``x`` is (N, 3, H, W) float32
Architecture = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class LayerSpec:
    op: str  # "conv" | "bn" | "dense" | "local" | "prelu"
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

    def conv(
        self, x: Any, name: str, filters: int, kernel: int | tuple[int, int], stride: int = 1,
        padding: str = "valid", bias: bool = True,
    ) -> Any:  # fmt: skip
        """Keras Conv2D (TensorFlow "same" padding puts the odd pixel after)."""
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        if self.params is None:
            shapes = {"kernel": (kh, kw, int(x.shape[1]), filters)} | ({"bias": (filters,)} if bias else {})
            p = self._declare(name, LayerSpec("conv", shapes))
            w, b = p["kernel"], p.get("bias")
        else:
            w, b = self.params[name]["kernel"], self.params[name].get("bias")
        if padding == "same":
            (top, bottom), (left, right) = _same_pad(x.shape[2], kh, stride), _same_pad(x.shape[3], kw, stride)
            x = self.F.pad(x, (left, right, top, bottom))
        return self._out(name, self.F.conv2d(x, w, b, stride=stride))

    def bn(self, x: Any, name: str, eps: float, scale: bool = True) -> Any:
        """Keras BatchNormalization at inference: (x - mean) / sqrt(var + eps) * gamma + beta."""
        if self.params is None:
            c = (int(x.shape[1]),)
            shapes = ({"gamma": c} if scale else {}) | {"beta": c, "moving_mean": c, "moving_variance": c}
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


def _torch_shape(op: str, kind: str, shape: tuple[int, ...]) -> tuple[int, ...]:
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
            out[name] = {"scale": tensor(s), "shift": tensor(arrays["beta"] - mean * s)}
        elif spec.op == "prelu":
            out[name] = {"alpha": tensor(arrays["alpha"].reshape(-1))}
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


class KerasRecognizer(Recognizer):
    """A recognizer whose network is an :data:`Architecture` and whose weights are one Keras ``.h5``.

    Subclasses set ``architecture`` (and ``canonical`` where a release spells layer names its own
    way). The spec gives ``normalization`` and ``l2_normalize``, and its ``options`` any
    ``arch_options`` passed to the architecture (e.g. the embedding size).
    """

    architecture: Architecture
    canonical: Callable[[str], str] = staticmethod(str)

    def __init__(self, spec: ModelSpec, *, normalization: str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.normalization = check_normalization(normalization or spec.normalization or "unit")

    shareable = True  # weights are only read (inference mode)

    def layout(self) -> dict[str, LayerSpec]:
        """The Keras weight layout this recognizer expects in its file (``layout_options``: layers it
        holds but does not run, e.g. a training classifier)."""
        opts = self.spec.options.get("arch_options", {}) | self.spec.options.get("layout_options", {})
        return declare(type(self).architecture, self.alignment.size, **opts)

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])  # first, so a missing file is reported before torch
        dev = torch_device(self.device)
        return load_params(self.layout(), read_weights(path), dev, type(self).canonical, path), dev

    def _forward(self, x: Any) -> Any:
        """(N, 3, H, W) normalised tensor → (N, d) tensor."""
        params = self._model[0]
        return type(self).architecture(KerasRun(torch_module(), params), x, **self.spec.options.get("arch_options", {}))

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        dev = self._model[1]
        x = normalize(batch, self.normalization, self.spec.color).transpose(0, 3, 1, 2)
        with torch.inference_mode():
            y = self._forward(torch.from_numpy(np.ascontiguousarray(x)).to(dev))
            if self.spec.l2_normalize:
                y = torch.nn.functional.normalize(y, dim=1)
            return y.float().cpu().numpy()


def rename(pattern: str, repl: str) -> Callable[[str], str]:
    """A ``canonical`` function that rewrites layer names with one regex substitution."""
    rx = re.compile(pattern)
    return lambda name: rx.sub(repl, name)
