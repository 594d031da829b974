"""GhostFaceNetV1 (Alansari et al., IEEE Access 2023; width 1.3, stem stride 1), on PyTorch.

The network is written here from the paper's block table (as HamadYA/GhostFaceNets builds it,
with deepface's PReLU activations); the weights are deepface's PyTorch release of HamadYA's
``GhostFaceNet_W1.3_S1_ArcFace.h5``, a plain state dict read with ``torch.load(weights_only=True)``
(no pickled objects) and checked name by name, shape by shape.

Details that change the numbers: TensorFlow "same" padding (the odd pixel goes after), Keras'
hard sigmoid (0.2 x + 0.5, clipped) in the squeeze-excite gate, batch-norm epsilon 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceprint.errors import WeightsFormatError
from faceprint.formats.keras_h5 import same_pad
from faceprint.models.runtime import torch_device, torch_load, torch_module
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer
from faceprint.recognition.preprocess import check_normalization, normalize

#: per bottleneck: depthwise kernel, stride, expansion, output channels, squeeze-excite channels (0: none)
BLOCKS = tuple(zip(
    (3, 3, 3, 5, 5, 3, 3, 3, 3, 3, 3, 5, 5, 5, 5, 5),
    (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1),
    (20, 64, 92, 92, 156, 312, 260, 240, 240, 624, 872, 872, 1248, 1248, 1248, 664),
    (20, 32, 32, 52, 52, 104, 104, 104, 104, 144, 144, 208, 208, 208, 208, 208),
    (0, 0, 0, 24, 40, 0, 0, 0, 0, 156, 220, 220, 0, 312, 0, 168),
))  # fmt: skip
STEM, TAIL, DIM = 20, 664, 512
BN_EPS = 1e-3
_BN_KEYS = ("weight", "bias", "running_mean", "running_var")


@dataclass
class Run:
    """What :func:`ghostfacenet_v1` calls its weighted layers through: declares shapes when
    ``params`` is None, else computes with the loaded tensors."""

    torch: Any
    params: dict[str, Any] | None = None
    layout: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def _p(self, name: str, shape: tuple[int, ...]) -> Any:
        if self.params is None:
            if name in self.layout:
                raise ValueError(f"parameter {name!r} declared twice")
            self.layout[name] = shape
            return self.torch.empty(shape, device="meta")
        return self.params[name]

    def conv(self, name: str, x: Any, out: int, k: int, stride: int = 1, *, depthwise: bool = False,
             bias: bool = False, same: bool = True) -> Any:  # fmt: skip
        c = int(x.shape[1])
        w = self._p(f"{name}.weight", (out, 1 if depthwise else c, k, k))
        b = self._p(f"{name}.bias", (out,)) if bias else None
        if same:
            (top, bottom), (left, right) = same_pad(x.shape[2], k, stride), same_pad(x.shape[3], k, stride)
            x = self.torch.nn.functional.pad(x, (left, right, top, bottom))
        return self.torch.nn.functional.conv2d(x, w, b, stride=stride, groups=c if depthwise else 1)

    def bn(self, name: str, x: Any) -> Any:
        c = int(x.shape[1])
        if self.params is None:
            for key in _BN_KEYS:
                self._p(f"{name}.{key}", (c,))
            return x
        shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
        return x * self.params[f"{name}.scale"].view(shape) + self.params[f"{name}.shift"].view(shape)

    def prelu(self, name: str, x: Any) -> Any:
        return self.torch.nn.functional.prelu(x, self._p(f"{name}.weight", (int(x.shape[1]),)))

    def conv_bn(self, name: str, x: Any, out: int, k: int, stride: int = 1, *, depthwise: bool = False,
                act: bool = True, same: bool = True) -> Any:  # fmt: skip
        x = self.bn(f"{name}.bn", self.conv(f"{name}.conv", x, out, k, stride, depthwise=depthwise, same=same))
        return self.prelu(f"{name}.prelu", x) if act else x


def _ghost(run: Run, name: str, x: Any, out: int, act: bool) -> Any:
    """Half the channels from a 1x1 convolution, the other half cheaply from a 3x3 depthwise one."""
    primary = run.conv_bn(f"{name}.primary", x, out // 2, 1, act=act)
    cheap = run.conv_bn(f"{name}.cheap", primary, out // 2, 3, depthwise=True, act=act)
    return run.torch.cat([primary, cheap], dim=1)


def _squeeze_excite(run: Run, name: str, x: Any, channels: int) -> Any:
    gate = run.torch.mean(x, dim=(2, 3), keepdim=True)
    gate = run.prelu(f"{name}.prelu", run.conv(f"{name}.reduce", gate, channels, 1, bias=True, same=False))
    gate = run.conv(f"{name}.expand", gate, int(x.shape[1]), 1, bias=True, same=False)
    return x * run.torch.clamp(gate * 0.2 + 0.5, 0.0, 1.0)  # Keras' hard sigmoid, not torch's


def ghostfacenet_v1(run: Run, x: Any) -> Any:
    """(N, 3, 112, 112) normalised input → (N, 512) embeddings (``pre_embedding`` batch norm output)."""
    x = run.conv_bn("stem", x, STEM, 3)
    c = STEM
    for i, (k, stride, exp, out, se) in enumerate(BLOCKS):
        name = f"bottlenecks.{i}"
        residual = x
        if out != c or stride != 1:
            residual = run.conv_bn(f"{name}.shortcut.0", x, c, k, stride, depthwise=True, act=False)
            residual = run.conv_bn(f"{name}.shortcut.1", residual, out, 1, act=False, same=False)
        y = _ghost(run, f"{name}.ghost_1", x, exp, act=True)
        if stride > 1:
            y = run.conv_bn(f"{name}.downsample", y, exp, k, stride, depthwise=True, act=False)
        if se:
            y = _squeeze_excite(run, f"{name}.se", y, se)
        x = residual + _ghost(run, f"{name}.ghost_2", y, out, act=False)
        c = out
    x = run.conv_bn("tail", x, TAIL, 1, same=False)
    x = run.bn("gdc_bn", run.conv("gdc_dw", x, TAIL, int(x.shape[2]), depthwise=True, same=False))
    x = run.conv("gdc_conv", x, DIM, 1, bias=True, same=False).flatten(1)
    return run.bn("pre_embedding", x)


def declare(size: int = 112) -> dict[str, tuple[int, ...]]:
    """Every tensor of the state dict (batch-norm counters aside), name → shape, in call order."""
    torch = torch_module()
    run = Run(torch)
    ghostfacenet_v1(run, torch.empty((1, 3, size, size), device="meta"))
    return run.layout


def load_state(path: str, layout: dict[str, tuple[int, ...]], device: Any) -> dict[str, Any]:
    """The tensors of a state-dict file, checked against ``layout``; batch norms folded to scale/shift."""
    torch = torch_module()
    state = torch_load(path)  # a bad file: WeightsFormatError naming it
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsFormatError(f"{path}: holds a {type(state).__name__}, not a state dict")
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing, extra = sorted(set(layout) - set(state)), sorted(set(state) - set(layout))
    if missing or extra:
        raise WeightsFormatError(
            f"{path}: tensor names do not match GhostFaceNetV1; missing {missing[:4]} ({len(missing)}), "
            f"unexpected {extra[:4]} ({len(extra)})"
        )
    for name, shape in layout.items():
        if not isinstance(state[name], torch.Tensor):
            raise WeightsFormatError(f"{path}: {name} is a {type(state[name]).__name__}, not a tensor")
        if tuple(state[name].shape) != shape:
            raise WeightsFormatError(f"{path}: {name} is {tuple(state[name].shape)}, expected {shape}")
    params = {k: v.float().to(device) for k, v in state.items()}
    for name in {k.rsplit(".", 1)[0] for k in layout if k.endswith(".running_var")}:
        scale = params[f"{name}.weight"] / torch.sqrt(params[f"{name}.running_var"] + BN_EPS)
        params[f"{name}.scale"], params[f"{name}.shift"] = scale, params[f"{name}.bias"] - params[f"{name}.running_mean"] * scale
    return params


class GhostFaceNet(Recognizer):
    """GhostFaceNetV1 on PyTorch: 112x112 crops → 512-d embeddings."""

    def __init__(self, spec: ModelSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.normalization = check_normalization(spec.normalization or "arcface")

    shareable = True  # weights are only read (inference mode)

    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        dev = torch_device(self.device)
        return load_state(path, declare(self.alignment.size[0]), dev), dev

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        params, dev = self._model
        x = np.ascontiguousarray(normalize(batch, self.normalization, self.spec.color).transpose(0, 3, 1, 2))
        with torch.inference_mode():
            return ghostfacenet_v1(Run(torch, params), torch.from_numpy(x).to(dev)).float().cpu().numpy()
