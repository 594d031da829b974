"""A Keras 2 whole-model file run from its own ``model_config`` on the Keras engine (inference only).

:class:`KerasGraph` walks the config's layers in order for the layer types small vision models use;
weighted layers go through :class:`~faceprint.formats.keras_engine.KerasRun`, so the file is checked
against the declared layout (names and shapes) exactly as for the architectures written in code.
Tensors are NCHW inside; Flatten reorders to NHWC first so Dense weights line up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.formats.keras_engine import KerasRun, load_params, pair
from faceprint.models.runtime import torch_module

_ACTS = ("linear", "relu", "softmax", "sigmoid", "tanh")


def _zero_padding(pad: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' ZeroPadding2D forms: n, (h, w) or ((top, bottom), (left, right))."""
    if isinstance(pad, int):
        return (pad, pad), (pad, pad)
    if isinstance(pad[0], int):
        return (pad[0], pad[0]), (pad[1], pad[1])
    return pair(pad[0]), pair(pad[1])


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


def _input_shape(layers: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(H, W, C) from the first ``batch_input_shape`` (an InputLayer, or a Sequential's first layer)."""
    for layer in layers:
        shape = layer["config"].get("batch_input_shape")
        if shape:
            if len(shape) != 4 or any(s is None for s in shape[1:]):
                raise ConfigError(f"model input shape {shape} is not a fixed (N, H, W, C) image")
            return int(shape[1]), int(shape[2]), int(shape[3])
    raise ConfigError("the model config records no input shape (batch_input_shape)")


class KerasGraph:
    """A Keras 2 functional/Sequential model rebuilt on PyTorch from its config and weights (inference only).

    ``forward`` takes NHWC float32 numpy (as Keras did) and returns the model output as numpy.
    """

    SUPPORTED = frozenset({
        "InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation", "MaxPooling2D",
        "AveragePooling2D", "GlobalAveragePooling2D", "Add", "Multiply", "Flatten", "Dense", "Dropout",
        "ZeroPadding2D", "ReLU", "Softmax",
    })  # fmt: skip

    def __init__(
        self, config: dict[str, Any], weights: dict[str, dict[str, np.ndarray]], device: Any = None,
        source: str = "Keras model file",
    ) -> None:  # fmt: skip
        torch = torch_module()
        self.torch = torch
        self.device = device or torch.device("cpu")
        self.layers = _layers(config)
        cfg = config.get("config", config)
        outs = cfg.get("output_layers") if isinstance(cfg, dict) else None
        self.output = outs[0][0] if outs else self.layers[-1]["name"]
        for layer in self.layers:
            kind = layer["class_name"]
            if kind not in self.SUPPORTED:
                raise ConfigError(f"Keras layer type {kind!r} ({layer['name']}) is not supported")
            act = layer["config"].get("activation", "linear")
            if kind in ("Conv2D", "SeparableConv2D", "Dense", "Activation") and act not in _ACTS:
                raise ConfigError(f"activation {act!r} of {layer['name']} is not supported")
        # which optional arrays a layer holds (use_bias, center, scale) and, where the config omits it,
        # its output size are read from the file; the rest of each shape is checked against it
        self._has = {name: frozenset(w) for name, w in weights.items()}
        self._width = {name: int(k.shape[-1]) for name, w in weights.items()
                       for k in (w.get("kernel", w.get("pointwise_kernel")),) if k is not None and k.ndim}  # fmt: skip
        h, w, c = _input_shape(self.layers)
        declare = KerasRun(torch)
        self._walk(declare, torch.empty((1, c, h, w), device="meta"))
        self.params = load_params(declare.layout, weights, self.device, source=source)

    def _layer(self, run: KerasRun, kind: str, name: str, cfg: dict[str, Any], xs: list[Any]) -> Any:
        t, F = self.torch, self.torch.nn.functional
        x = xs[0]
        has = self._has.get(name, frozenset())
        if kind in ("InputLayer", "Dropout"):
            return x
        if kind in ("Conv2D", "SeparableConv2D"):
            conv = run.conv if kind == "Conv2D" else run.separable
            filters = int(cfg.get("filters") or self._size(name))
            x = conv(x, name, filters, pair(cfg["kernel_size"]), pair(cfg.get("strides", 1)),
                     cfg.get("padding", "valid"), bias="bias" in has)  # fmt: skip
        elif kind == "Dense":
            x = run.dense(x, name, int(cfg.get("units") or self._size(name)), bias="bias" in has)
        elif kind == "BatchNormalization":
            scale, center = cfg.get("scale", True) and "gamma" in has, cfg.get("center", True) and "beta" in has
            return run.bn(x, name, float(cfg.get("epsilon", 1e-3)), scale=scale, center=center)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            k = pair(cfg["pool_size"])
            s = pair(cfg.get("strides") or k)
            same = cfg.get("padding", "valid") == "same"
            if kind == "MaxPooling2D":
                return F.max_pool2d(run.pad_same(x, *k, *s, float("-inf")) if same else x, k, s)
            if same:
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

    def _size(self, name: str) -> int:
        if name not in self._width:
            raise ConfigError(f"layer {name!r}: the config gives no output size and the file holds no kernel for it")
        return self._width[name]

    def _walk(self, run: KerasRun, x: Any) -> Any:
        values: dict[str, Any] = {"__input__": x}
        for layer in self.layers:
            xs = [values[i] for i in layer["inputs"]]
            values[layer["name"]] = self._layer(run, layer["class_name"], layer["name"], layer["config"], xs)
        return values[self.output]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """(N, H, W, C) float32 → the output layer's values (NHWC for maps)."""
        t = self.torch
        x = t.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)).to(self.device)
        with t.inference_mode():
            out = self._walk(KerasRun(t, self.params), x)
        if out.dim() == 4:
            out = out.permute(0, 2, 3, 1)
        return out.float().cpu().numpy()
