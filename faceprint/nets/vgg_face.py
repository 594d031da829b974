"""The VGG-Face network (Parkhi et al. 2015) as deepface's Keras files hold it, run on PyTorch.

deepface's ``vgg_face_weights.h5`` and its race/age/gender files share one 16-layer layout: 13 3x3
convolutions in blocks of 2, 2, 3, 3, 3 (each block followed by 2x2 max pooling), a 7x7 "fc6"
convolution, a 1x1 "fc7" convolution and a 1x1 classifier convolution, then flatten and softmax.
The recognizer (:mod:`faceprint.recognition.vgg_face`) stops at the ReLU'd fc7 output; the
attribute models (:mod:`faceprint.analysis.vgg_face`) run the classifier. Channel counts and kernel
sizes are read from the file, so the same code runs the real files and small test files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.formats.keras_h5 import read_weights
from faceprint.models.runtime import torch_module

BLOCKS = (2, 2, 3, 3, 3)
N_CONV = sum(BLOCKS) + 3


def load_vgg_head(path: str, device: Any, descriptor: bool = False) -> Any:
    """A callable (N, 3, H, W) tensor → (N, classes) softmax, built from a deepface attribute ``.h5``.

    With ``descriptor`` it stops at the ReLU'd fc7 output, flattened: VGG-Face's face descriptor
    (deepface's ``vgg_face_weights.h5`` has this same 16-layer layout, with 2622 identity classes).
    """
    torch = torch_module()
    F = torch.nn.functional
    layers = [(name, w) for name, w in read_weights(path).items() if "kernel" in w]
    if len(layers) != N_CONV or any(w["kernel"].ndim != 4 for _, w in layers):
        raise ConfigError(
            f"{path}: expected {N_CONV} convolution layers (VGG-Face + 1x1 classifier), found "
            f"{len(layers)} weighted layers; is this a deepface race/age/gender weights file?"
        )
    params = [
        (torch.from_numpy(np.ascontiguousarray(w["kernel"].transpose(3, 2, 0, 1), dtype=np.float32)).to(device),
         torch.from_numpy(np.asarray(w["bias"], np.float32)).to(device))
        for _, w in layers
    ]  # fmt: skip

    def forward(x: Any) -> Any:
        i = 0
        for n in BLOCKS:
            for _ in range(n):
                x = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1)), *params[i]))  # ZeroPadding2D(1) + valid conv
                i += 1
            x = F.max_pool2d(x, 2, 2)
        x = F.relu(F.conv2d(x, *params[i]))
        x = F.relu(F.conv2d(x, *params[i + 1]))
        if descriptor:
            return x.permute(0, 2, 3, 1).flatten(1)
        x = F.conv2d(x, *params[i + 2])
        return torch.softmax(x.permute(0, 2, 3, 1).flatten(1), dim=1)

    return forward


WIDTHS = (64, 128, 256, 512, 512)


def vgg_face_shapes(
    widths: tuple[int, ...] = WIDTHS, fc: int = 4096, classes: int = 2622
) -> list[dict[str, tuple[int, ...]]]:
    """Keras shapes of the 16 weighted layers of ``vgg_face_weights.h5``, in file order."""
    out, cin = [], 3
    for n, w in zip(BLOCKS, widths, strict=True):
        for _ in range(n):
            out.append({"kernel": (3, 3, cin, w), "bias": (w,)})
            cin = w
    for k, cout in ((7, fc), (1, fc), (1, classes)):
        out.append({"kernel": (k, k, cin, cout), "bias": (cout,)})
        cin = cout
    return out
