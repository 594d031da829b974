"""dlib's face recognition ResNet rebuilt in PyTorch from the ``.dat`` file, batched, on CPU or CUDA.

The weights come from :mod:`faceprint.recognition.dlib_format` (our own reader of dlib's format);
dlib itself is not needed. Embeddings match dlib's to ~1e-6 in float32.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.recognition.base import Recognizer
from faceprint.recognition.dlib_format import DlibFormatError, DlibNet, Layer, read_net
from faceprint.registry import ModelSpec
from faceprint.runtime import torch_device, torch_module

log = logging.getLogger("faceprint")


@functools.lru_cache(maxsize=4)
def _parsed(path: str, size: int, mtime_ns: int) -> DlibNet:
    del size, mtime_ns  # part of the key only: a replaced file is parsed again
    net = read_net(path)
    for layer in net.layers:  # shared by every model built from this cache entry
        for value in layer.params.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
    return net


def load_dlib_net(path: str) -> DlibNet:
    """The parsed network in ``path``, parsed once per process while the file is unchanged."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DlibFormatError(f"cannot read: {exc.strerror or exc}", path) from exc
    return _parsed(os.path.abspath(path), st.st_size, st.st_mtime_ns)


def _program(net: DlibNet) -> tuple[list[tuple[str, Any]], list[dict[str, np.ndarray]], list[np.ndarray], dict]:
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
            steps.append((layer.kind, _pool_args(layer)))
        elif layer.kind == "fc":
            if fc or i != len(layers) - 1:
                raise DlibFormatError("only one fully connected layer, at the end, is supported", net.path)
            fc = {"weight": layer.params["weights"].T.copy(), "bias": layer.params["biases"]}
            steps.append(("fc", None))
        else:
            raise DlibFormatError(f"layer kind {layer.kind!r} has no PyTorch counterpart here", net.path)
        i += 1
    return steps, convs, affines, fc


def _pool_args(layer: Layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
    """(window, stride, padding), or None for dlib's whole-input pooling (window 0x0)."""
    window = layer.params["window"]
    if window == (0, 0):
        return None
    return window, layer.params["stride"], layer.params["padding"]


def build_module(net: DlibNet) -> Any:
    """A ``torch.nn.Module``: (N, H, W, 3) uint8 RGB → (N, 128) float, like dlib's ``anet_type``."""
    torch = torch_module()
    nn, F = torch.nn, torch.nn.functional
    steps, conv_params, affine_params, fc = _program(net)
    inp = net.input.params

    def padded_add(a: Any, b: Any) -> Any:
        # dlib's add_prev sums tensors of different sizes over the union of their extents,
        # zero-filling the smaller one at the end of each axis (e.g. 3x3 + 4x4 in alevel1).
        if a.shape == b.shape:
            return a + b
        c, h, w = (max(a.shape[d], b.shape[d]) for d in (1, 2, 3))

        def grow(t: Any) -> Any:
            return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

        return grow(a) + grow(b)

    class DlibResNetModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.steps = steps
            self.convs = nn.ModuleList()
            for p in conv_params:
                out_c, in_c, kh, kw = p["weight"].shape
                self.convs.append(nn.Conv2d(in_c, out_c, (kh, kw)))
            self.fc = nn.Linear(fc["weight"].shape[1], fc["weight"].shape[0], bias=fc["bias"] is not None)
            for i, a in enumerate(affine_params):
                self.register_buffer(f"affine{i}", torch.from_numpy(a.reshape(2, 1, -1, 1, 1)))
            with torch.no_grad():
                for conv, p in zip(self.convs, conv_params):
                    conv.weight.copy_(torch.from_numpy(p["weight"]))
                    conv.bias.copy_(torch.from_numpy(p["bias"]))
                self.fc.weight.copy_(torch.from_numpy(fc["weight"]))
                if fc["bias"] is not None:
                    self.fc.bias.copy_(torch.from_numpy(np.asarray(fc["bias"])))
            self.register_buffer("mean", torch.tensor(inp["mean_rgb"], dtype=torch.float32).reshape(1, 3, 1, 1))
            self.scale = float(inp["scale"])

        def forward(self, x: Any) -> Any:
            x = (x.permute(0, 3, 1, 2).to(self.mean.dtype) - self.mean) * self.scale
            tags: dict[int, Any] = {}
            for op, arg in self.steps:
                if op == "conv":
                    idx, stride, padding = arg
                    conv = self.convs[idx]
                    x = F.conv2d(x, conv.weight, conv.bias, stride, padding)
                elif op == "relu":
                    x = F.relu(x)
                elif op == "tag":
                    tags[arg] = x
                elif op == "skip":
                    x = tags[arg]
                elif op == "add_prev":
                    x = padded_add(x, tags[arg])
                elif op == "affine":
                    gamma, beta = getattr(self, f"affine{arg}")
                    x = x * gamma + beta
                elif op == "max_pool":
                    x = F.max_pool2d(x, *arg) if arg else torch.amax(x, dim=(2, 3), keepdim=True)
                elif op == "avg_pool":
                    # dlib averages over the window's part inside the image only
                    x = F.avg_pool2d(x, *arg, count_include_pad=False) if arg else x.mean(dim=(2, 3), keepdim=True)
                elif op == "fc":
                    x = self.fc(x.flatten(1))
            return x

    return DlibResNetModule().eval()


class DlibTorch(Recognizer):
    """dlib's ResNet on PyTorch: same weights and embeddings as the "dlib" recognizer, batched.

    Args:
        device: "cpu", "cuda" or "auto"; "cuda" without a usable GPU raises DeviceError.
        half: run in float16 (CUDA only); embeddings then differ from dlib's by ~1e-3.
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        weights: dict[str, str] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        half: bool = False,
    ) -> None:
        super().__init__(spec, weights=weights, device=device, batch_size=batch_size)
        self.half = half

    def _load(self) -> Any:
        torch = torch_module()
        dev = torch_device(self.device)
        if self.half and dev.type != "cuda":
            raise ConfigError("half=True needs device='cuda' (float16 convolutions are slow and inexact on the CPU)")
        net = load_dlib_net(self.weight_path(self.spec.files[0]))
        size = net.input.params["size"]
        if size is not None and self.spec.input_size is not None and tuple(reversed(size)) != self.spec.input_size:
            raise DlibFormatError(
                f"network input is {size[1]}x{size[0]}, the registry says {self.spec.input_size}", net.path
            )
        module = build_module(net)
        module = module.to(dev, memory_format=torch.channels_last)
        if self.half:
            module = module.half()
        log.debug("dlib ResNet on PyTorch, %s%s", dev, " fp16" if self.half else "")
        return module, dev

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        module, dev = self._model
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(dev, non_blocking=True)  # uint8 on the wire: 4x less to copy
            out = module(x)
        return out.float().cpu().numpy()
