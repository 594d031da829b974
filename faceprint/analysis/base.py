"""The face-attribute model interface: face crops in, one prediction per face out, batch-first.

Every model gets the whole BGR image and the face boxes, because each cuts its own crop the way
it was trained (margins, scale, colour, size differ between models).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import cv2
import numpy as np

from faceprint.errors import ConfigError
from faceprint.models.runtime import BatchModel, torch_device, torch_module
from faceprint.models.specs import ModelSpec

Box = tuple[float, float, float, float]

__all__ = ["AttributeModel", "Box", "margin_crop", "torch_device", "torch_module"]


def margin_crop(image: np.ndarray, box: Box, margin: float, size: tuple[int, int], pad: bool = False) -> np.ndarray:
    """The box grown by ``margin`` × its width/height on each side, resized to ``size`` (w, h).

    Parts outside the image are clipped off (as the SSR-Net demos do) or, with ``pad``, filled
    with black so the face keeps its place and scale in the crop (as IMDB-WIKI's training crops are).
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    left, top = int(x1 - margin * bw), int(y1 - margin * bh)
    right, bottom = int(x2 + margin * bw), int(y2 + margin * bh)
    cl, ct, cr, cb = max(left, 0), max(top, 0), min(right, w - 1), min(bottom, h - 1)
    if cr <= cl or cb <= ct:
        raise ConfigError(f"face box {box} lies outside the {w}x{h} image")
    crop = image[ct : cb + 1, cl : cr + 1]
    if pad and (cl, ct, cr, cb) != (left, top, right, bottom):
        crop = cv2.copyMakeBorder(crop, ct - top, bottom - cb, cl - left, right - cr, cv2.BORDER_CONSTANT, value=0)
    return cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)


class AttributeModel(BatchModel):
    """A face-attribute model. Subclasses implement :meth:`_load`, :meth:`preprocess` and :meth:`_predict`."""

    def __init__(
        self, spec: ModelSpec, *, weights: dict[str, str] | None = None, device: str = "cpu", batch_size: int = 64
    ) -> None:
        super().__init__(spec, weights=weights, device=device, batch_size=batch_size)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(getattr(self.spec, "labels", ()))

    @abstractmethod
    def preprocess(self, image: np.ndarray, box: Box) -> np.ndarray:
        """The network input for one face of a BGR uint8 image (float32, model layout)."""

    @abstractmethod
    def _predict(self, batch: np.ndarray) -> np.ndarray:
        """A stacked batch of :meth:`preprocess` outputs → (N, k) float32."""

    def predict_inputs(self, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """(N, k) outputs for already preprocessed inputs, run in batches."""
        if len(inputs) == 0:
            return np.empty((0, max(len(self.labels), 1)), np.float32)
        self._ensure_loaded()
        batch = np.stack(list(inputs)).astype(np.float32, copy=False)
        out = [self._predict(batch[i : i + self.batch_size]) for i in range(0, len(batch), self.batch_size)]
        return np.concatenate(out).astype(np.float32, copy=False)

    def predict(self, image: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
        """(N, k) outputs for the faces at ``boxes`` in one BGR uint8 image."""
        return self.predict_inputs([self.preprocess(image, b) for b in boxes])
