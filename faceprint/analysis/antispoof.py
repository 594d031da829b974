"""Silent face anti-spoofing: MiniFASNetV2 (crop scale 2.7) + MiniFASNetV1SE (scale 4.0), fused.

Each network sees the face box enlarged by its own scale around the box centre (shifted back inside
the image, shrunk if the image is too small), resized to 80x80, as BGR float 0-255 without
normalisation: the authors' ``CropImage`` and ``ToTensor`` (which does not divide by 255).
The softmax outputs of the networks are averaged; class 1 is a live face, 0 and 2 are attacks.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.analysis.base import AttributeModel, Box, torch_device, torch_module
from faceprint.analysis.minifasnet import build
from faceprint.errors import ConfigError
from faceprint.models.runtime import torch_load

LIVE = 1


def scale_crop(image: np.ndarray, box: Box, scale: float, size: tuple[int, int] = (80, 80)) -> np.ndarray:
    """The box scaled by ``scale`` about its centre, kept inside the image, resized to ``size`` (w, h)."""
    src_h, src_w = image.shape[:2]
    x, y = box[0], box[1]
    bw, bh = box[2] - box[0], box[3] - box[1]
    if bw <= 0 or bh <= 0:
        raise ConfigError(f"empty face box {box}")
    scale = min((src_h - 1) / bh, (src_w - 1) / bw, scale)
    nw, nh = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    x1, y1, x2, y2 = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    # slide the window back inside the image instead of padding, as the models were trained
    if x1 < 0:
        x2, x1 = x2 - x1, 0.0
    if y1 < 0:
        y2, y1 = y2 - y1, 0.0
    if x2 > src_w - 1:
        x1, x2 = x1 - (x2 - src_w + 1), src_w - 1.0
    if y2 > src_h - 1:
        y1, y2 = y1 - (y2 - src_h + 1), src_h - 1.0
    x1, y1, x2, y2 = int(x1), int(y1), int(x2), int(y2)
    return cv2.resize(image[y1 : y2 + 1, x1 : x2 + 1], size)


def load_minifasnet(path: str, variant: str, se: bool, device: Any) -> Any:
    torch = torch_module()
    state = torch_load(path)
    state = {(k[7:] if k.startswith("module.") else k): v for k, v in state.items()}  # saved from DataParallel
    net = build(torch, variant, se)
    # FTGenerator is the training-time Fourier branch; inference does not use it
    missing, unexpected = net.load_state_dict({k: v for k, v in state.items() if not k.startswith("FTGenerator")},
                                              strict=False)  # fmt: skip
    real_missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if real_missing or unexpected:
        raise ConfigError(f"{path}: weights do not fit MiniFASNet{variant.upper()}{'SE' if se else ''} "
                          f"(missing {real_missing[:3]}, unexpected {unexpected[:3]})")  # fmt: skip
    return net.eval().to(device)


class SilentFaceAntiSpoof(AttributeModel):
    """P(live) per face from the fused MiniFASNets; :meth:`predict` returns (N, 3) averaged class probabilities."""

    @property
    def labels(self) -> tuple[str, ...]:
        return ("spoof_0", "live", "spoof_2")

    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        """(M, 80, 80, 3) float32 BGR 0-255: one crop per network, at its scale."""
        w, h = self.spec.input_size or (80, 80)
        return np.stack([scale_crop(image, box, s, (w, h)) for s in self.spec.options["scales"]]).astype(np.float32)

    def _load(self) -> Any:
        dev = torch_device(self.device)
        nets = [
            load_minifasnet(self.weight_path(wf), variant, se, dev)
            for wf, (variant, se) in zip(self.spec.files, self.spec.options["variants"])
        ]
        return nets, dev

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        nets, dev = self._model
        probs = []
        with torch.inference_mode():
            for m, net in enumerate(nets):
                x = torch.from_numpy(np.ascontiguousarray(batch[:, m].transpose(0, 3, 1, 2))).to(dev)
                probs.append(torch.softmax(net(x), dim=1).float().cpu().numpy())
        return np.mean(probs, axis=0)
