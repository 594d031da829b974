"""Keras 2 ``.h5``/``.hdf5`` files without TensorFlow: read weights with h5py, run the graph on PyTorch.

Two layouts are read: a whole-model file (``model_config`` attribute + ``model_weights`` group, from
``model.save``) and a weights-only file (layer groups at the root, from ``model.save_weights``).
Each layer group lists its arrays in the ``weight_names`` attribute, in Keras' own order.

:class:`KerasGraph` rebuilds a model from its ``model_config`` JSON for the layer types small vision
models use. Tensors are NCHW inside; Flatten reorders to NHWC first so Dense weights line up.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from faceprint.analysis.base import torch_module
from faceprint.errors import ConfigError, DependencyError, WeightsFormatError


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise DependencyError("reading Keras .h5 weights needs h5py: pip install h5py") from exc
    return h5py


def _str(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def read_weights(path: Any, source: str | None = None) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {weight kind: array}}`` of a Keras 2 file (kind: "kernel", "bias", "gamma", ...), in file order.
    ``path`` may be a file-like object; ``source`` names it in messages."""
    h5py = _h5py()
    name = source or str(path)
    out: dict[str, dict[str, np.ndarray]] = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsFormatError(f"{name}: not a readable HDF5 file ({exc}); delete it and fetch it again") from None
    with f:
        root = f.get("model_weights", f)
        if "layer_names" not in root.attrs:
            raise WeightsFormatError(f"{name}: no 'layer_names' attribute; not a Keras 2 weights file")
        for layer in (_str(n) for n in root.attrs["layer_names"]):
            group = root[layer]
            arrays: dict[str, np.ndarray] = {}
            for wn in (_str(n) for n in group.attrs.get("weight_names", [])):
                kind = wn.rsplit("/", 1)[-1].split(":", 1)[0]  # "conv2d_1/kernel:0" → "kernel"
                arrays[kind] = np.asarray(group[wn])
            out[layer] = arrays
    return out


def read_config(path: str) -> dict[str, Any] | None:
    """The ``model_config`` JSON of a whole-model file, or None for a weights-only file."""
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
    return None if raw is None else json.loads(_str(raw))


def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow "same" padding: the extra pixel goes after, not before (unlike a symmetric pad)."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _zero_padding(pad: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' ZeroPadding2D forms: n, (h, w) or ((top, bottom), (left, right))."""
    if isinstance(pad, int):
        return (pad, pad), (pad, pad)
    if isinstance(pad[0], int):
        return (pad[0], pad[0]), (pad[1], pad[1])
    return _pair(pad[0]), _pair(pad[1])


_ACTS = ("linear", "relu", "softmax", "sigmoid", "tanh")


def _activate(torch: Any, x: Any, name: str) -> Any:
    if name == "relu":
        return torch.relu(x)
    if name == "softmax":
        return torch.softmax(x, dim=1)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    return x


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Layer entries with explicit inputs; a Sequential config is chained in order."""
    cfg = config.get("config", config)
    if config.get("class_name") == "Sequential" or isinstance(cfg, list):
        entries = cfg if isinstance(cfg, list) else cfg["layers"]
        out, prev = [], "__input__"
        for e in entries:
            name = e["config"]["name"]
            out.append({"class_name": e["class_name"], "name": name, "config": e["config"], "inputs": [prev]})
            prev = name
        return out
    out = []
    for e in cfg["layers"]:
        nodes = e.get("inbound_nodes") or []
        inputs = [n[0] for n in nodes[0]] if nodes else ["__input__"]
        out.append({"class_name": e["class_name"], "name": e["name"], "config": e["config"], "inputs": inputs})
    return out


class KerasGraph:
    """A Keras 2 functional/Sequential model rebuilt on PyTorch from its config and weights (inference only).

    ``forward`` takes NHWC float32 numpy (as Keras did) and returns the model output as numpy.
    """

    SUPPORTED = frozenset({
        "InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation", "MaxPooling2D",
        "AveragePooling2D", "GlobalAveragePooling2D", "Add", "Multiply", "Flatten", "Dense", "Dropout",
        "ZeroPadding2D", "ReLU", "Softmax",
    })  # fmt: skip

    def __init__(self, config: dict[str, Any], weights: dict[str, dict[str, np.ndarray]], device: Any = None) -> None:
        torch = torch_module()
        self.torch = torch
        self.device = device or torch.device("cpu")
        self.layers = _layers(config)
        cfg = config.get("config", config)
        outs = cfg.get("output_layers") if isinstance(cfg, dict) else None
        self.output = outs[0][0] if outs else self.layers[-1]["name"]
        self.params: dict[str, dict[str, Any]] = {}
        for layer in self.layers:
            kind = layer["class_name"]
            if kind not in self.SUPPORTED:
                raise ConfigError(f"Keras layer type {kind!r} ({layer['name']}) is not supported")
            act = layer["config"].get("activation", "linear")
            if kind in ("Conv2D", "SeparableConv2D", "Dense", "Activation") and act not in _ACTS:
                raise ConfigError(f"activation {act!r} of {layer['name']} is not supported")
            self.params[layer["name"]] = self._convert(kind, weights.get(layer["name"], {}), layer["config"])

    def _convert(self, kind: str, w: dict[str, np.ndarray], cfg: dict[str, Any]) -> dict[str, Any]:
        t = self.torch

        def tensor(a: np.ndarray) -> Any:
            return t.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(self.device)

        p: dict[str, Any] = {}
        if kind == "Conv2D":
            p["w"] = tensor(w["kernel"].transpose(3, 2, 0, 1))  # (kh, kw, in, out) → (out, in, kh, kw)
        elif kind == "SeparableConv2D":
            dk = w["depthwise_kernel"]  # (kh, kw, in, mult)
            p["dw"] = tensor(dk.transpose(2, 3, 0, 1).reshape(dk.shape[2] * dk.shape[3], 1, *dk.shape[:2]))
            p["pw"] = tensor(w["pointwise_kernel"].transpose(3, 2, 0, 1))
        elif kind == "Dense":
            p["w"] = tensor(w["kernel"].T)
        elif kind == "BatchNormalization":
            mean, var = w["moving_mean"], w["moving_variance"]
            gamma = w.get("gamma", np.ones_like(mean)) if cfg.get("scale", True) else np.ones_like(mean)
            beta = w.get("beta", np.zeros_like(mean)) if cfg.get("center", True) else np.zeros_like(mean)
            scale = gamma / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
            p["scale"], p["shift"] = tensor(scale), tensor(beta - mean * scale)
        if "bias" in w:
            p["b"] = tensor(w["bias"])
        return p

    def _pad(self, x: Any, cfg: dict[str, Any], k: tuple[int, int], s: tuple[int, int], value: float = 0.0) -> Any:
        if cfg.get("padding", "valid") != "same":
            return x
        (t, b), (left, r) = _same_pad(x.shape[2], k[0], s[0]), _same_pad(x.shape[3], k[1], s[1])
        return self.torch.nn.functional.pad(x, (left, r, t, b), value=value) if t or b or left or r else x

    def _run(self, kind: str, cfg: dict[str, Any], p: dict[str, Any], xs: list[Any]) -> Any:
        t, F = self.torch, self.torch.nn.functional
        x = xs[0]
        if kind in ("InputLayer", "Dropout"):
            return x
        if kind == "Conv2D":
            k, s = _pair(cfg["kernel_size"]), _pair(cfg.get("strides", 1))
            x = F.conv2d(self._pad(x, cfg, k, s), p["w"], p.get("b"), stride=s)
        elif kind == "SeparableConv2D":
            k, s = _pair(cfg["kernel_size"]), _pair(cfg.get("strides", 1))
            x = F.conv2d(self._pad(x, cfg, k, s), p["dw"], None, stride=s, groups=x.shape[1])
            x = F.conv2d(x, p["pw"], p.get("b"))
        elif kind == "Dense":
            x = F.linear(x, p["w"], p.get("b"))
        elif kind == "BatchNormalization":
            shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
            return x * p["scale"].view(shape) + p["shift"].view(shape)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            k = _pair(cfg["pool_size"])
            s = _pair(cfg.get("strides") or k)
            if kind == "MaxPooling2D":
                return F.max_pool2d(self._pad(x, cfg, k, s, float("-inf")), k, s)
            if cfg.get("padding", "valid") == "same":
                raise ConfigError("AveragePooling2D with padding='same' is not supported")
            return F.avg_pool2d(x, k, s)
        elif kind == "GlobalAveragePooling2D":
            return x.mean(dim=(2, 3))
        elif kind == "ZeroPadding2D":
            (t_, b_), (l_, r_) = _zero_padding(cfg["padding"])
            return F.pad(x, (l_, r_, t_, b_))
        elif kind == "Add":
            return sum(xs[1:], xs[0])
        elif kind == "Multiply":
            out = xs[0]
            for y in xs[1:]:
                out = out * y
            return out
        elif kind == "Flatten":
            return (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).reshape(x.shape[0], -1)
        elif kind == "ReLU":
            return t.relu(x)
        elif kind == "Softmax":
            return t.softmax(x, dim=1)
        return _activate(t, x, cfg.get("activation", "linear"))

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W, C) float32 → the output layer's values (NHWC for maps)."""
        t = self.torch
        x = t.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)).to(self.device)
        values: dict[str, Any] = {"__input__": x}
        with t.inference_mode():
            for layer in self.layers:
                xs = [values[i] for i in layer["inputs"]]
                values[layer["name"]] = self._run(layer["class_name"], layer["config"], self.params[layer["name"]], xs)
            out = values[self.output]
        if out.dim() == 4:
            out = out.permute(0, 2, 3, 1)
        return out.float().cpu().numpy()
