"""RetinaFace-MobileNet0.25 in PyTorch, laid out to load ``mobilenet0.25_Final.pth`` of biubug6's
Face-Detector-1MB-with-landmark.

MobileNetV1-0.25 body (three stages), a 3-level FPN, SSH context modules, and 1x1 heads with two
anchors per cell; all activations are plain ReLU in this release (the Pytorch_Retinaface variant
uses leaky ReLU and does not fit these weights). Decoding is shared with the ONNX version
(:mod:`faceprint.detection.retinaface`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.detection.anchors import pad_to_stride
from faceprint.detection.base import Detector
from faceprint.detection.retinaface import _MEAN_BGR, decode, priors
from faceprint.models.runtime import torch_device, torch_load, torch_module
from faceprint.types import Face

# biubug6 trained these weights with smaller anchors than the ONNX export uses (its data/config.py cfg_mnet)
_MIN_SIZES = ((10, 20), (32, 64), (128, 256))


def build_retinaface() -> Any:
    """The network (an ``nn.Module``), untrained."""
    torch = torch_module()
    nn, F = torch.nn, torch.nn.functional

    def conv_bn(i: int, o: int, stride: int = 1) -> Any:
        return nn.Sequential(nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    def conv_bn_no_relu(i: int, o: int) -> Any:
        return nn.Sequential(nn.Conv2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o))

    def conv_bn1x1(i: int, o: int) -> Any:
        return nn.Sequential(nn.Conv2d(i, o, 1, 1, 0, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    def conv_dw(i: int, o: int, stride: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(i, i, 3, stride, 1, groups=i, bias=False), nn.BatchNorm2d(i), nn.ReLU(inplace=True),
            nn.Conv2d(i, o, 1, 1, 0, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
        )  # fmt: skip

    class Body(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stage1 = nn.Sequential(conv_bn(3, 8, 2), conv_dw(8, 16, 1), conv_dw(16, 32, 2), conv_dw(32, 32, 1), conv_dw(32, 64, 2), conv_dw(64, 64, 1))
            self.stage2 = nn.Sequential(conv_dw(64, 128, 2), *(conv_dw(128, 128, 1) for _ in range(5)))
            self.stage3 = nn.Sequential(conv_dw(128, 256, 2), conv_dw(256, 256, 1))

        def forward(self, x):
            c1 = self.stage1(x)
            c2 = self.stage2(c1)
            return c1, c2, self.stage3(c2)

    class FPN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.output1, self.output2, self.output3 = conv_bn1x1(64, 64), conv_bn1x1(128, 64), conv_bn1x1(256, 64)
            self.merge1, self.merge2 = conv_bn(64, 64), conv_bn(64, 64)

        def forward(self, feats):
            o1, o2, o3 = self.output1(feats[0]), self.output2(feats[1]), self.output3(feats[2])
            o2 = self.merge2(o2 + F.interpolate(o3, size=o2.shape[2:], mode="nearest"))
            o1 = self.merge1(o1 + F.interpolate(o2, size=o1.shape[2:], mode="nearest"))
            return o1, o2, o3

    class SSH(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv3X3 = conv_bn_no_relu(64, 32)
            self.conv5X5_1, self.conv5X5_2 = conv_bn(64, 16), conv_bn_no_relu(16, 16)
            self.conv7X7_2, self.conv7x7_3 = conv_bn(16, 16), conv_bn_no_relu(16, 16)

        def forward(self, x):
            c5_1 = self.conv5X5_1(x)
            out = torch.cat([self.conv3X3(x), self.conv5X5_2(c5_1), self.conv7x7_3(self.conv7X7_2(c5_1))], dim=1)
            return F.relu(out)

    class Head(nn.Module):
        def __init__(self, per_anchor: int) -> None:
            super().__init__()
            self.per_anchor = per_anchor
            self.conv1x1 = nn.Conv2d(64, 2 * per_anchor, 1)

        def forward(self, x):
            return self.conv1x1(x).permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.per_anchor)

    class RetinaFace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.fpn = Body(), FPN()
            self.ssh1, self.ssh2, self.ssh3 = SSH(), SSH(), SSH()
            self.ClassHead = nn.ModuleList(Head(2) for _ in range(3))
            self.BboxHead = nn.ModuleList(Head(4) for _ in range(3))
            self.LandmarkHead = nn.ModuleList(Head(10) for _ in range(3))

        def forward(self, x):
            f1, f2, f3 = self.fpn(self.body(x))
            feats = (self.ssh1(f1), self.ssh2(f2), self.ssh3(f3))
            loc = torch.cat([h(f) for h, f in zip(self.BboxHead, feats)], dim=1)
            conf = torch.cat([h(f) for h, f in zip(self.ClassHead, feats)], dim=1)
            landms = torch.cat([h(f) for h, f in zip(self.LandmarkHead, feats)], dim=1)
            return loc, torch.softmax(conf, dim=-1), landms

    return RetinaFace()


class RetinaFaceTorch(Detector):
    def _load(self) -> Any:
        torch = torch_module()
        device = torch_device(self.options["device"])
        net = build_retinaface()
        state = torch_load(self.weight_path(self.spec.files[0]))
        net.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
        return torch, net.eval().to(device), device

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        torch, net, device = self._model
        img = pad_to_stride(bgr)
        blob = torch.from_numpy((img.astype(np.float32) - _MEAN_BGR).transpose(2, 0, 1)[None].copy()).to(device)
        with torch.inference_mode():
            loc, conf, landms = (t[0].cpu().numpy() for t in net(blob))
        thr = self.score_cut
        return decode(loc, conf, landms, priors(*img.shape[:2], _MIN_SIZES), thr, float(self.options["nms_threshold"]))
