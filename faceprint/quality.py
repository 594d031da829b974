"""A face quality score in [0, 1] from size, pose, sharpness and exposure (no model to download).

Each part is a score in [0, 1]; the total is their geometric mean, so one bad part (a 20-pixel face,
a profile, motion blur, a face in shadow) pulls the whole score down:

- size: the box's short side, 0 at 24 px or less, 1 at 112 px or more;
- pose: 1 frontal, falling to 0 at 60 degrees of yaw or 45 of pitch (from dense landmarks'
  :func:`~faceprint.landmarkers.pose.head_pose`; without them, yaw estimated from the 5 points:
  the nose's offset from the eyes' midpoint);
- sharpness: variance of the Laplacian of the box resized to 112x112 grey, ``v / (v + 100)``;
- exposure: 1 at mid-grey mean brightness, less toward black or white, minus the clipped share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceprint.types import Face


@dataclass(frozen=True, slots=True)
class FaceQuality:
    score: float
    size: float
    pose: float
    sharpness: float
    exposure: float


def _pose_score(face: Face, pose: tuple[float, float, float] | None) -> float:
    if pose is not None and all(np.isfinite(pose)):
        yaw, pitch, _ = pose
        return float(max(0.0, 1 - (yaw / 60) ** 2) * max(0.0, 1 - (pitch / 45) ** 2))
    if face.landmarks is None or len(face.landmarks) != 5:
        return 1.0  # unknown: not penalised
    lm = np.asarray(face.landmarks, np.float64)
    eyes = lm[1] - lm[0]
    dist = float(np.hypot(*eyes))
    if dist < 1e-6:
        return 0.0
    # nose offset along the eye line, as a share of half the eye distance: ~sin(yaw) for a mean face
    off = float(np.dot(lm[2] - (lm[0] + lm[1]) / 2, eyes / dist)) / (dist / 2)
    yaw = np.degrees(np.arcsin(np.clip(off, -1.0, 1.0)))
    return float(max(0.0, 1 - (yaw / 60) ** 2))


def face_quality(bgr: np.ndarray, face: Face, pose: tuple[float, float, float] | None = None) -> FaceQuality:
    """The :class:`FaceQuality` of ``face`` in a BGR (or grey) uint8 image."""
    import cv2

    h, w = bgr.shape[:2]
    x1, y1, x2, y2 = face.box
    cl, ct, cr, cb = max(int(x1), 0), max(int(y1), 0), min(int(np.ceil(x2)), w), min(int(np.ceil(y2)), h)
    if cr - cl < 2 or cb - ct < 2:
        return FaceQuality(0.0, 0.0, 0.0, 0.0, 0.0)
    grey = bgr[ct:cb, cl:cr] if bgr.ndim == 2 else cv2.cvtColor(bgr[ct:cb, cl:cr], cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (112, 112), interpolation=cv2.INTER_AREA)
    size = float(np.clip((min(x2 - x1, y2 - y1) - 24) / (112 - 24), 0.0, 1.0))
    var = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    sharp = var / (var + 100.0)
    mean = float(grey.mean())
    clipped = float(np.mean((grey <= 5) | (grey >= 250)))
    exposure = float(max(0.0, 1 - abs(mean - 128) / 128 - clipped))
    pose_s = _pose_score(face, pose)
    parts = np.array([size, pose_s, sharp, exposure])
    score = float(np.prod(np.clip(parts, 0.0, 1.0)) ** 0.25)
    return FaceQuality(score, size, pose_s, sharp, exposure)
