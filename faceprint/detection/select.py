"""Which one face of an image to use: the ``faces=`` policies that keep a single face.

- ``"main"`` (the default): the photo's subject. Of the faces whose side is at least half the largest's
  (:data:`MAIN_MIN_SIDE`), the one with the best box area less twice the squared distance of its centre
  from the image's (:data:`CENTRE_WEIGHT`) — the rule FaceNet's LFW alignment and insightface use to
  pick one face. In a tight crop around a face (LFW, CFP) a neighbour cut by the frame is often larger
  than the subject; the guard keeps a much smaller face near the centre from winning over a subject
  framed off-centre.
- ``"largest"``: the largest box (by area).

Both scores scale with the image's area, so the choice does not depend on the resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from faceprint.errors import ConfigError
from faceprint.types import Face

#: policies that keep one face of an image, by a rule of this module ("best", the top score, is the
#: detectors' own order)
PICKS = ("main", "largest")
#: weight of the squared centre offset against the box area (FaceNet's align_dataset_mtcnn, insightface)
CENTRE_WEIGHT = 2.0
#: a face competes for "main" only if its side (square root of its area) is at least this fraction of the
#: largest face's
MAIN_MIN_SIDE = 0.5


def check_pick(policy: str) -> str:
    """``policy`` if it is one of :data:`PICKS`, else a :class:`~faceprint.errors.ConfigError`."""
    if policy not in PICKS:
        raise ConfigError(f"unknown pick policy {policy!r}; use one of {', '.join(PICKS)}")
    return policy


def main_score(face: Face, width: float, height: float) -> float:
    """Box area less :data:`CENTRE_WEIGHT` times the squared distance of its centre from the image centre."""
    x1, y1, x2, y2 = face.box
    dx, dy = (x1 + x2 - width) / 2, (y1 + y2 - height) / 2
    return face.area - CENTRE_WEIGHT * (dx * dx + dy * dy)


def pick(policy: str, faces: Sequence[Face], width: float, height: float) -> Face:
    """The face ``policy`` ("main" or "largest") keeps of ``faces`` (not empty) in a ``width`` x ``height`` image."""
    if not faces:
        raise ValueError("no face to pick from")
    largest = max(faces, key=lambda f: f.area)
    if check_pick(policy) == "largest":
        return largest
    floor = (MAIN_MIN_SIDE**2) * largest.area
    return max((f for f in faces if f.area >= floor), key=lambda f: main_score(f, width, height))


def unseen_bound(policy: str, faces: Sequence[Face], width: float, height: float) -> float:
    """The side (pixels) under which a face not searched for yet can no longer change what ``policy``
    picks of ``faces``: a coarse-to-fine search needs only the levels that find faces at least this big.

    A face with both sides under the bound has an area under its square. "largest": the square root of
    the largest face's area. "main": such a face must not compete (under :data:`MAIN_MIN_SIDE` of the
    largest's side) or must not reach the best score found with its area (a score is never above the
    area); either way it is smaller than the largest. 0 when there is no face yet."""
    if not faces:
        return 0.0
    side = math.sqrt(max(f.area for f in faces))
    if check_pick(policy) == "largest":
        return side
    best = main_score(pick("main", faces, width, height), width, height)
    return max(MAIN_MIN_SIDE * side, math.sqrt(best) if best > 0 else 0.0)
