"""deepface's attribute models (race, age, gender): VGG-Face with a 1x1-conv classifier, from Keras weights files.

The files (``race_model_single_batch.h5``, ``age_model_weights.h5``, ``gender_model_weights.h5``)
are Keras 2 weights-only files in the 16-layer VGG-Face layout of :mod:`faceprint.nets.vgg_face`,
whose last layer is the 1x1 ``predictions`` convolution.
Input: the face box, squared by black padding, 224x224 BGR, /255 (deepface's own preprocessing).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.analysis.base import AttributeModel, Box, torch_device, torch_module
from faceprint.errors import ConfigError
from faceprint.nets.vgg_face import load_vgg_head


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
