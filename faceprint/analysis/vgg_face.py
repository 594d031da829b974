"""deepface's attribute models (race, age, gender): VGG-Face with a 1x1-conv classifier, from Keras weights files.

The files (``race_model_single_batch.h5``, ``age_model_weights.h5``, ``gender_model_weights.h5``)
are Keras 2 weights-only files: 16 weighted layers in order — 13 3x3 convolutions in blocks of
2, 2, 3, 3, 3 (each block followed by 2x2 max pooling), a 7x7 "fc6" convolution, a 1x1 "fc7"
convolution and the 1x1 ``predictions`` convolution, then flatten and softmax. Channel counts and
kernel sizes are read from the file, so the same code runs the real files and small test files.
Input: the face box, squared by black padding, 224x224 BGR, /255 (deepface's own preprocessing).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.analysis.base import AttributeModel, Box, torch_device, torch_module
from faceprint.analysis.keras_h5 import read_weights
from faceprint.errors import ConfigError

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


def square_pad_resize(image: np.ndarray, box: Box, size: tuple[int, int]) -> np.ndarray:
    """The box's pixels, padded with black to a square and resized to ``size`` (keeps the aspect ratio)."""
    h, w = image.shape[:2]
    x1, y1 = max(int(box[0]), 0), max(int(box[1]), 0)
    x2, y2 = min(int(box[2] + 0.5), w), min(int(box[3] + 0.5), h)
    if x2 <= x1 or y2 <= y1:
        raise ConfigError(f"face box {box} lies outside the {w}x{h} image")
    face = image[y1:y2, x1:x2]
    fh, fw = face.shape[:2]
    side = max(fh, fw)
    top, left = (side - fh) // 2, (side - fw) // 2
    face = cv2.copyMakeBorder(face, top, side - fh - top, left, side - fw - left, cv2.BORDER_CONSTANT, value=0)
    return cv2.resize(face, size, interpolation=cv2.INTER_AREA if side > size[0] else cv2.INTER_LINEAR)


class DeepFaceVGG(AttributeModel):
    """Class probabilities of a deepface attribute model, (N, classes)."""

    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        size = self.spec.input_size or (224, 224)
        return square_pad_resize(image, box, size).astype(np.float32) / 255.0

    def _load(self) -> Any:
        dev = torch_device(self.device)
        return load_vgg_head(self.weight_path(self.spec.files[0]), dev), dev

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        torch = torch_module()
        forward, dev = self._model
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))).to(dev)
            return forward(x).float().cpu().numpy()
