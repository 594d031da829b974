"""Head pose (yaw, pitch, roll in degrees) from dense landmarks: PnP against a 3-D mean face.

Six points both layouts define (nose tip, chin, outer eye corners, mouth corners) are matched to a
generic 3-D face (millimetre-scale, nose tip at the origin, x to the subject's left, y up, z toward
the camera) with a pinhole camera whose focal length is the image width. Signs: yaw > 0 when the
face turns toward the image's right, pitch > 0 looking up, roll > 0 when the head tilts clockwise
in the image.
"""

from __future__ import annotations

import numpy as np

#: generic 3-D positions: nose tip, chin, image-left eye outer corner, image-right eye outer corner,
#: image-left mouth corner, image-right mouth corner
MEAN_FACE = np.array([(0.0, 0.0, 0.0), (0.0, -63.6, -12.5), (-43.3, 32.7, -26.0), (43.3, 32.7, -26.0),
                      (-28.9, -28.9, -24.1), (28.9, -28.9, -24.1)], np.float64)  # fmt: skip
#: the same six points by index, per landmark layout
POSE_POINTS = {68: (30, 8, 36, 45, 48, 54), 468: (1, 152, 33, 263, 61, 291)}


def head_pose(points: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a face's 68 or 468 landmarks in an image of (width, height)."""
    import cv2

    n = len(points)
    if n not in POSE_POINTS:
        raise ValueError(f"head pose needs 68 or 468 landmarks, got {n}")
    img_pts = np.asarray(points, np.float64)[list(POSE_POINTS[n]), :2]
    w, h = image_size
    cam = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
    # the model's y is up and the image's down: flip y so both frames are right-handed the same way
    model = MEAN_FACE * np.array([1.0, -1.0, -1.0])
    ok, rvec, _ = cv2.solvePnP(model, img_pts, cam, None, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return (float("nan"),) * 3  # type: ignore[return-value]
    r, _ = cv2.Rodrigues(rvec)
    # R = Rz(roll) @ Ry(yaw) @ Rx(pitch), angles read back from its entries
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(-yaw), float(-pitch), float(roll)
