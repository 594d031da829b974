"""dlib's face recognition ResNet rebuilt in PyTorch from the ``.dat`` file, batched, on CPU or CUDA.

The weights come from :mod:`faceprint.formats.dlib_dat` (our own reader of dlib's format);
dlib itself is not needed. Embeddings match dlib's to ~1e-6 in float32.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.formats.dlib_dat import DlibNet, read_net
from faceprint.formats.dlib_program import check_input_size, program
from faceprint.models.runtime import torch_device, torch_module
from faceprint.models.specs import ModelSpec
from faceprint.recognition.base import Recognizer

log = logging.getLogger("faceprint")


def build_module(net: DlibNet) -> Any:
    """A ``torch.nn.Module``: (N, H, W, 3) uint8 RGB → (N, 128) float, like dlib's ``anet_type``."""
    torch = torch_module()
    nn, F = torch.nn, torch.nn.functional
    steps, conv_params, affine_params, fc = program(net)
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

    shareable = True  # weights are only read (inference mode)

    def load_options(self) -> tuple:
        return (self.half,)

    def _load(self) -> Any:
        torch = torch_module()
        dev = torch_device(self.device)
        if self.half and dev.type != "cuda":
            raise ConfigError("half=True needs device='cuda' (float16 convolutions are slow and inexact on the CPU)")
        net = read_net(self.weight_path(self.spec.files[0]))
        check_input_size(net, self.spec.input_size)
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
