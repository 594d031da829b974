"""MediaPipe FaceMesh: 468 3-D face landmarks, run through OpenCV's TFLite importer (no TensorFlow).

Its region of interest is MediaPipe's: the face box's centre, a square 1.5x the box's long side,
rotated so the eye line is horizontal (eyes from the face's 5 landmarks when known, else no
rotation); warped to 192x192 RGB scaled to [0, 1]. The network gives (x, y, z) in crop pixels and a
face-presence logit; x, y are mapped back through the same rotation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from faceprint.landmarkers.base import Box, LandmarkModel

SIZE = 192


def roi_transform(box: Box, five: np.ndarray | None, scale: float = 1.5) -> np.ndarray:
    """2x3 affine matrix mapping image pixels into the 192x192 crop."""
    x1, y1, x2, y2 = box
    cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * scale
    angle = 0.0
    if five is not None:
        (lx, ly), (rx, ry) = five[0], five[1]
        angle = float(np.arctan2(ry - ly, rx - lx))
    c, s = np.cos(angle), np.sin(angle)
    half = side / 2
    # crop corners (top-left, top-right, bottom-left) in the image: the centre plus the rotated offsets
    src = np.float32([[cx + c * dx - s * dy, cy + s * dx + c * dy] for dx, dy in ((-half, -half), (half, -half), (-half, half))])
    dst = np.float32([[0, 0], [SIZE, 0], [0, SIZE]])
    return cv2.getAffineTransform(src, dst)


class FaceMesh(LandmarkModel):
    """``options``: ``points`` 468, ``scale`` (ROI size / box long side), ``value_range`` (1 → [0, 1])."""

    def _load(self) -> Any:
        return cv2.dnn.readNetFromTFLite(self.weight_path(self.spec.files[0]))

    def predict(self, image: np.ndarray, boxes: Sequence[Box], five: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
        return [p[:, :2].copy() for p in self.predict3d(image, boxes, five)[0]]

    def predict3d(self, image: np.ndarray, boxes: Sequence[Box],
                  five: Sequence[np.ndarray | None] | None = None) -> tuple[list[np.ndarray], list[float]]:  # fmt: skip
        """(468, 3) points (x, y in image pixels, z in the same scale) and the face-presence logit per face."""
        net = self._ensure_loaded()
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        five = list(five) if five is not None else [None] * len(boxes)
        scale = float(self.spec.options.get("scale", 1.5))
        names = net.getUnconnectedOutLayersNames()
        points, presence = [], []
        for box, f in zip(boxes, five):
            m = roi_transform(box, f, scale)
            crop = cv2.warpAffine(rgb, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            net.setInput(cv2.dnn.blobFromImage(crop, 1.0 / 255.0))
            outs = {o.size: o for o in net.forward(names)}
            mesh = outs[468 * 3].reshape(468, 3).astype(np.float64)
            inv = cv2.invertAffineTransform(m)
            xy = mesh[:, :2] @ inv[:, :2].T + inv[:, 2]
            z = mesh[:, 2] * np.sqrt(abs(np.linalg.det(inv[:, :2])))
            points.append(np.column_stack([xy, z]).astype(np.float32))
            presence.append(float(outs[1].ravel()[0]))
        return points, presence
