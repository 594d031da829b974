"""MiniFASNet V1 / V2 / V1SE (minivision-ai Silent-Face-Anti-Spoofing) written for PyTorch state dicts.

The V1 and V2 variants differ only in channel widths (``WIDTHS``); the SE variant adds a
squeeze-and-excitation gate to the last block of each residual stage. Parameter names match the
released ``.pth`` files, so their state dicts load as they are (after stripping ``module.``).
"""

from __future__ import annotations

from typing import Any

# Channel widths after pruning, in the order the layers use them (from the released checkpoints).
WIDTHS = {
    "v1": (32, 32, 103, 103, 64, 13, 13, 64, 26, 26, 64, 13, 13, 64, 52, 52, 64, 231, 231, 128, 154, 154, 128, 52,
           52, 128, 26, 26, 128, 52, 52, 128, 26, 26, 128, 26, 26, 128, 308, 308, 128, 26, 26, 128, 26, 26, 128, 512,
           512),
    "v2": (32, 32, 103, 103, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 231, 231, 128, 231, 231, 128, 52,
           52, 128, 26, 26, 128, 77, 77, 128, 26, 26, 128, 26, 26, 128, 308, 308, 128, 26, 26, 128, 26, 26, 128, 512,
           512),
}  # fmt: skip


def build(torch: Any, variant: str, se: bool, conv6_kernel: int = 5, num_classes: int = 3) -> Any:
    """A MiniFASNet module (eval mode not set). ``conv6_kernel`` is 5 for 80x80 inputs."""
    nn = torch.nn
    k = WIDTHS[variant]

    class ConvBN(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, pad: int = 0, groups: int = 1,
                     act: bool = True) -> None:  # fmt: skip
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, kernel, stride, pad, groups=groups, bias=False)
            self.bn = nn.BatchNorm2d(cout)
            if act:
                self.prelu = nn.PReLU(cout)
            self.act = act

        def forward(self, x: Any) -> Any:
            x = self.bn(self.conv(x))
            return self.prelu(x) if self.act else x

    class SE(nn.Module):
        def __init__(self, ch: int, reduction: int = 4) -> None:
            super().__init__()
            self.fc1 = nn.Conv2d(ch, ch // reduction, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(ch // reduction)
            self.fc2 = nn.Conv2d(ch // reduction, ch, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(ch)

        def forward(self, x: Any) -> Any:
            g = torch.relu(self.bn1(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
            return x * torch.sigmoid(self.bn2(self.fc2(g)))

    class DepthWise(nn.Module):
        """1x1 expand (PReLU) → 3x3 depthwise (PReLU) → 1x1 project (linear), optional residual and SE."""

        def __init__(self, i: int, stride: int, residual: bool, se_gate: bool = False) -> None:
            super().__init__()
            # widths k[i] → k[i+1] → k[i+2] → k[i+3]
            self.conv = ConvBN(k[i], k[i + 1])
            self.conv_dw = ConvBN(k[i + 1], k[i + 2], 3, stride, 1, groups=k[i + 1])
            self.project = ConvBN(k[i + 2], k[i + 3], act=False)
            self.residual = residual
            if se_gate:
                self.se_module = SE(k[i + 3])

        def forward(self, x: Any) -> Any:
            y = self.project(self.conv_dw(self.conv(x)))
            if hasattr(self, "se_module"):
                y = self.se_module(y)
            return x + y if self.residual else y

    class Stage(nn.Module):
        def __init__(self, start: int, blocks: int) -> None:
            super().__init__()
            self.model = nn.Sequential(
                *(DepthWise(start + 3 * b, 1, True, se and b == blocks - 1) for b in range(blocks))
            )

        def forward(self, x: Any) -> Any:
            return self.model(x)

    class MiniFASNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = ConvBN(3, k[0], 3, 2, 1)
            self.conv2_dw = ConvBN(k[0], k[1], 3, 1, 1, groups=k[1])
            self.conv_23 = DepthWise(1, 2, False)
            self.conv_3 = Stage(4, 4)
            self.conv_34 = DepthWise(16, 2, False)
            self.conv_4 = Stage(19, 6)
            self.conv_45 = DepthWise(37, 2, False)
            self.conv_5 = Stage(40, 2)
            self.conv_6_sep = ConvBN(k[46], k[47])
            self.conv_6_dw = ConvBN(k[47], k[48], conv6_kernel, groups=k[48], act=False)
            self.linear = nn.Linear(512, 128, bias=False)
            self.bn = nn.BatchNorm1d(128)
            self.prob = nn.Linear(128, num_classes, bias=False)

        def forward(self, x: Any) -> Any:
            for name in ("conv1", "conv2_dw", "conv_23", "conv_3", "conv_34", "conv_4", "conv_45", "conv_5",
                         "conv_6_sep", "conv_6_dw"):  # fmt: skip
                x = getattr(self, name)(x)
            return self.prob(self.bn(self.linear(x.flatten(1))))

    return MiniFASNet()
