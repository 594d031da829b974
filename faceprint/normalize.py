"""Stage 2.5, face normalization: ``normalize="mask"`` keeps only the face inside its outline.

The outline is the convex hull of the face's dense landmarks (68 points: the jaw line and the brows;
468 FaceMesh points: the face oval), computed on the original image and carried into the aligned
crop by the same similarity transform the alignment used. Everything outside is filled with
``fill`` (black by default), so background and hair no longer reach the recognizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceprint.alignment import similarity_transform
from faceprint.errors import ConfigError
from faceprint.models.specs import Alignment

NORMALIZATIONS = (None, "none", "mask")


def check_normalize(normalize: str | None, align: str) -> str | None:
    if normalize not in NORMALIZATIONS:
        raise ConfigError(f"unknown normalize {normalize!r}; use None or 'mask'")
    if normalize == "mask" and align != "template":
        raise ConfigError(f"normalize='mask' needs align='template' (got {align!r}): the outline follows its transform")
    return None if normalize == "none" else normalize


def mask_crop(crop: np.ndarray, points_in_crop: np.ndarray, fill: int = 0) -> np.ndarray:
    """``crop`` with everything outside the convex hull of ``points_in_crop`` set to ``fill``."""
    import cv2

    hull = cv2.convexHull(np.round(points_in_crop[:, :2]).astype(np.int32))
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    out = np.full_like(crop, fill)
    out[mask > 0] = crop[mask > 0]
    return out


def mask_crops(crops: Sequence[np.ndarray], src_points: Sequence[np.ndarray], dense: Sequence[np.ndarray],
               template: Alignment, fill: int = 0) -> list[np.ndarray]:  # fmt: skip
    """Mask each aligned crop by its face's dense landmarks (image pixels), mapped as the crop was made."""
    out = []
    dst = np.asarray(template.points)
    for crop, src, pts in zip(crops, src_points, dense):
        m = similarity_transform(np.asarray(src), dst)
        in_crop = np.asarray(pts, np.float64)[:, :2] @ m[:2, :2].T + m[:2, 2]
        out.append(mask_crop(crop, in_crop, fill))
    return out
