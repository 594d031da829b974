"""Drawing detections onto an image, for people to look at."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from faceprint.errors import ConfigError
from faceprint.types import Face

_LANDMARK_COLORS = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 255), (0, 255, 255))


def annotate(bgr: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
    """A copy of ``bgr`` with each face's box, score and landmarks drawn."""
    out = bgr.copy()
    thick = max(1, round(max(out.shape[:2]) / 500))
    for f in faces:
        x1, y1, x2, y2 = (round(v) for v in f.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 200, 0), thick)
        cv2.putText(
            out, f"{f.score:.2f}", (x1, max(0, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (0, 200, 0), thick
        )
        if f.landmarks is not None:
            for (x, y), color in zip(f.landmarks, _LANDMARK_COLORS):
                cv2.circle(out, (round(float(x)), round(float(y))), 2 * thick, color, -1)
    return out


def save_annotated(bgr: np.ndarray, faces: Sequence[Face], path: str | Path) -> None:
    path = Path(path)
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".webp"):
        raise ConfigError(f"{path}: unsupported output type {path.suffix!r}; use .png or .jpg")
    if not cv2.imwrite(str(path), annotate(bgr, faces)):
        raise ConfigError(f"{path}: could not write the image (does the folder exist?)")


def draw_points(bgr: np.ndarray, point_sets: Sequence[np.ndarray], color: tuple[int, int, int] = (0, 255, 255)) -> np.ndarray:
    """``bgr`` with dense landmarks drawn (small dots: 468 points stay readable); modifies a copy."""
    out = bgr.copy()
    r = max(1, round(max(out.shape[:2]) / 700))
    for pts in point_sets:
        for x, y in np.asarray(pts)[:, :2]:
            cv2.circle(out, (round(float(x)), round(float(y))), r, color, -1)
    return out
