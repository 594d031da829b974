"""Alignment: warp each face onto its recognizer's canonical template.

``align_face`` maps the face's landmarks onto ``Alignment.points`` with a least-squares
similarity transform (rotation, uniform scale, translation; Umeyama 1991). Large downscales
are done in two steps (area resampling, then the warp) so high-resolution photos do not alias.
``eye_line`` is the simpler alignment of the early papers: rotate so the eyes are level, then
crop the detector's box.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from faceprint.config import ALIGN_MODES  # noqa: F401  (defined with the other option values)
from faceprint.errors import ConfigError
from faceprint.models.specs import Alignment
from faceprint.models.templates import DLIB5_UNIT
from faceprint.types import Face

# The 5 standard landmarks (eyes, nose tip, mouth corners) in dlib's unit face frame (the frame
# of ``registry._dlib_chip_points``), so that dlib's 5-point shape (eye corners, nose base) can
# give all five. Measured: median of MTCNN's landmarks mapped into that frame, over the 76 faces
# of the 64 deepface test photos (``benchmarks/derive_templates.py``).
_FIVE_IN_DLIB_UNIT = np.array(
    [[0.2138, 0.1975], [0.7591, 0.1956], [0.4845, 0.5236], [0.2380, 0.7652], [0.7416, 0.7559]],
    np.float64,
)


# Where dlib's HOG detector puts its (square) box around a face, in dlib's unit face frame
# (centre x, centre y, side): the box geometry dlib's 5-point predictor was made for. Measured:
# median over the 477 faces dlib_hog finds in identities/, orl/ and group/ (per set within
# 0.01 for the centre, 1.23-1.29 for the side; ``benchmarks/derive_templates.py --box``).
_HOG_BOX_IN_DLIB_UNIT = (0.5007, 0.4679, 1.2370)
#: refinements of a 5-point shape on its canonical box (at most; they stop once the box stays put). From
#: MTCNN's own box one leaves its faces ~0.04 from HOG's, the second reaches the same chip; from the
#: HOG-like first box (``DetectorSpec.hog_box``) most faces stop after one (docs/accuracy.md).
REFINE_PASSES = 2
#: a refinement is skipped when the canonical box is within this fraction of its side of the box the last
#: pass ran on (each edge): the shape would move by well under a pixel's worth of the chip
REFINE_TOLERANCE = 0.01
#: a refined shape whose canonical box is still further than this fraction of its side from the box its
#: last pass ran on has not converged: the predictor is off its ground (a profile, a face cut by or
#: filling the frame), and each pass can carry the chip further off the face. Such shapes are checked
#: against the detector's own landmarks (``ShapePredictor5.refine``). Of the 986 fixture faces that
#: MTCNN and dlib's CNN detector both find, 980 stay within it (p99 0.022); docs/accuracy.md.
UNSETTLED = 0.03


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity matrix that best maps ``src`` points onto ``dst`` (least squares).

    Umeyama's solution in its closed 2-D form: with both point sets centred, the best rotation-and-scale
    [[a, -b], [b, a]] solves a linear least-squares problem in (a, b) (the complex-number form of
    Procrustes), which is never a reflection; no SVD.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var = float((s0 * s0).sum())
    if var <= 1e-12 * len(src):
        raise ConfigError("degenerate landmarks: all points coincide")
    a = float((s0 * d0).sum()) / var
    b = float((s0[:, 0] * d0[:, 1] - s0[:, 1] * d0[:, 0]).sum()) / var
    m = np.empty((2, 3))
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = a, -b, b, a
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def warp(bgr: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Apply the 2x3 map ``m`` (image → crop), pre-shrinking with area resampling when it downsizes a lot."""
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        # Cut out the source region first, then shrink it with INTER_AREA to ~2x the crop's scale.
        inv = cv2.invertAffineTransform(m)
        w, h = size
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ inv.T
        x0, y0 = np.floor(corners.min(0)).astype(int) - 2
        x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, bgr.shape[1]), min(y1, bgr.shape[0])
        if x1 - x0 > 2 and y1 - y0 > 2:
            f = 2.0 * scale
            region = bgr[y0:y1, x0:x1]
            small = cv2.resize(
                region,
                (max(1, round(region.shape[1] * f)), max(1, round(region.shape[0] * f))),
                interpolation=cv2.INTER_AREA,
            )
            fx, fy = small.shape[1] / region.shape[1], small.shape[0] / region.shape[0]
            pre = np.array([[fx, 0, -x0 * fx], [0, fy, -y0 * fy], [0, 0, 1]])
            m = m @ np.linalg.inv(pre)
            bgr = small
    return cv2.warpAffine(bgr, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def align_face(bgr: np.ndarray, points: np.ndarray, template: Alignment) -> np.ndarray:
    """Crop of ``template.size`` with ``points`` (in the scheme of ``template``) on the template."""
    m = similarity_transform(points, np.asarray(template.points))
    return warp(bgr, m, template.size)


def eye_line(bgr: np.ndarray, face: Face, size: tuple[int, int]) -> np.ndarray:
    """Rotate about the eyes' midpoint so the eyes are level, crop the face box, resize."""
    if face.landmarks is None:
        return crop_box(bgr, face.box, size)
    le, re = face.landmarks[0].astype(np.float64), face.landmarks[1].astype(np.float64)
    angle = np.degrees(np.arctan2(re[1] - le[1], re[0] - le[0]))
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    bw, bh = face.box[2] - face.box[0], face.box[3] - face.box[1]
    rot = np.vstack([cv2.getRotationMatrix2D(tuple((le + re) / 2), angle, 1.0), [0, 0, 1]])
    # box centre after rotation, then scale the box onto the crop
    c = rot @ np.array([cx, cy, 1.0])
    sx, sy = size[0] / max(bw, 1.0), size[1] / max(bh, 1.0)
    place = np.array([[sx, 0, size[0] / 2 - sx * c[0]], [0, sy, size[1] / 2 - sy * c[1]], [0, 0, 1]])
    return warp(bgr, (place @ rot)[:2], size)


def crop_box(bgr: np.ndarray, box: Sequence[float], size: tuple[int, int]) -> np.ndarray:
    """The box cut out and resized, no rotation (zero fill outside the image)."""
    x1, y1, x2, y2 = box
    sx, sy = size[0] / max(x2 - x1, 1.0), size[1] / max(y2 - y1, 1.0)
    return warp(bgr, np.array([[sx, 0, -x1 * sx], [0, sy, -y1 * sy]]), size)


def canonical_box(shape: np.ndarray) -> tuple[float, float, float, float]:
    """The box dlib's HOG detector would draw around the face whose dlib 5-point shape is ``shape``.

    Running the predictor again on this box makes its result independent of the detector's box
    geometry (MTCNN's boxes are tighter and lower than HOG's, Haar's looser).
    """
    return _hog_box(similarity_transform(np.asarray(DLIB5_UNIT), np.asarray(shape, np.float64)))


def _hog_box(m: np.ndarray) -> tuple[float, float, float, float]:
    """The HOG-like box of the face whose unit frame maps to the image by the similarity ``m``."""
    cx, cy, side = _HOG_BOX_IN_DLIB_UNIT
    c = m @ np.array([cx, cy, 1.0])
    half = side * float(np.hypot(m[0, 0], m[1, 0])) / 2  # the similarity's scale
    return (float(c[0] - half), float(c[1] - half), float(c[0] + half), float(c[1] + half))


def landmark_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """The box dlib's HOG detector would draw around the face whose 5 standard landmarks (eyes, nose tip,
    mouth corners, as detectors give them) are ``points``: the predictor's start from a detector's
    landmarks rather than its box."""
    return _hog_box(similarity_transform(_FIVE_IN_DLIB_UNIT, np.asarray(points, np.float64)))


def dlib5_to_five(shape: np.ndarray) -> np.ndarray:
    """The 5 standard landmarks estimated from dlib's 5-point shape (see ``_FIVE_IN_DLIB_UNIT``)."""
    m = similarity_transform(np.asarray(DLIB5_UNIT), shape)
    pts = np.hstack([_FIVE_IN_DLIB_UNIT, np.ones((5, 1))]) @ m.T
    # the eyes are measured directly: the mean of each eye's two corners
    pts[0] = (shape[2] + shape[3]) / 2
    pts[1] = (shape[0] + shape[1]) / 2
    return pts.astype(np.float32)


class ShapePredictor5:
    """dlib's 5-point shape predictor (eye corners and nose base) run on face boxes."""

    def __init__(self, path: str) -> None:
        import dlib

        self._dlib = dlib
        self._predictor: Any = dlib.shape_predictor(path)

    def predict(self, bgr: np.ndarray, boxes: Sequence[Sequence[float]], *, refine: bool = False) -> list[np.ndarray]:
        """The 5-point shape in each box. ``refine``: :meth:`refine` each result, so the shape no
        longer depends on the detector's box geometry."""
        img = self._image(bgr)
        out = [self._shape(img, box) for box in boxes]
        return self.refine(img, out, boxes) if refine else out

    def refine(
        self, bgr: np.ndarray, shapes: Sequence[np.ndarray], boxes: Sequence[Sequence[float] | None] | None = None,
        passes: int | None = None, anchors: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray]:  # fmt: skip
        """Each shape run again on the :func:`canonical_box` of the last result, up to ``passes`` times
        (default :data:`REFINE_PASSES`), stopping once that box no longer moves: the same whole-pixel box
        (the predictor is deterministic: another pass would give the same shape) or every edge within
        :data:`REFINE_TOLERANCE` of its side. ``boxes``: per shape, the box it was predicted on in ``bgr``,
        where known (None: unknown).

        ``anchors``: per shape, the detector's own 5 standard landmarks (eyes, nose tip, mouth corners), or
        None. A shape still :data:`UNSETTLED` after its passes is not trusted as it is: the predictor is also
        run from :func:`landmark_box` of the anchor and refined, and of the four shapes (each start's first
        pass and its refinement) the one whose :func:`dlib5_to_five` points lie nearest the anchor's is kept.
        An anchor with a point outside the image is not used: those are a detector's guesses for a face the
        frame cuts off."""
        passes = REFINE_PASSES if passes is None else passes
        if passes < 0:
            raise ConfigError(f"refinement passes must be >= 0, got {passes}")
        for name, per in (("boxes they came from", boxes), ("anchors", anchors)):
            if per is not None and len(per) != len(shapes):
                raise ConfigError(f"{len(shapes)} shapes but {len(per)} {name}")
        img = self._image(bgr)
        out = []
        for i, first in enumerate(shapes):
            s, gap = self._refined(img, first, boxes[i] if boxes is not None else None, passes)
            anchor = anchors[i] if anchors is not None else None
            if gap > UNSETTLED and anchor is not None and passes > 0 and _inside(anchor, img.shape):
                start = landmark_box(anchor)
                other = self._shape(img, start)
                cands = (first, s, other, self._refined(img, other, start, passes)[0])
                s = min(cands, key=lambda c: _spread(dlib5_to_five(c), anchor))
            out.append(s)
        return out

    def _refined(
        self, img: np.ndarray, s: np.ndarray, last: Sequence[float] | None, passes: int
    ) -> tuple[np.ndarray, float]:
        """``s`` refined, and how far (a fraction of its side) its canonical box is from the box of its
        last pass: 0 when that box stays put (:func:`_settled`), infinite when it is unknown."""
        for _ in range(passes):
            box = canonical_box(s)
            if last is not None and _settled(box, last):
                return s, 0.0
            s, last = self._shape(img, box), box
        if last is None:
            return s, float("inf")
        box = canonical_box(s)
        return s, 0.0 if _settled(box, last) else _gap(box, last)

    @staticmethod
    def _image(bgr: np.ndarray) -> np.ndarray:
        # dlib reads a colour pixel as the plain mean of its three channels, so BGR gives the same
        # shapes as RGB: no channel flip (a full-image copy per call, 2.5 ms on a 1 Mpx photo)
        return bgr if bgr.flags.c_contiguous else np.ascontiguousarray(bgr)

    def _shape(self, img: np.ndarray, box: Sequence[float]) -> np.ndarray:
        shape = self._predictor(img, self._dlib.rectangle(*_rect(box)))
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)


def _settled(box: Sequence[float], last: Sequence[float]) -> bool:
    """Whether a pass on ``box`` is not worth making after one on ``last``."""
    if _rect(box) == _rect(last):
        return True
    tol = REFINE_TOLERANCE * (box[2] - box[0])
    return all(abs(a - b) <= tol for a, b in zip(box, last))


def _inside(points: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether every point lies within an image of ``shape`` (height, width, ...)."""
    pts = np.asarray(points, np.float64)
    return bool(np.all(pts >= 0) and np.all(pts[:, 0] <= shape[1]) and np.all(pts[:, 1] <= shape[0]))


def _spread(points: np.ndarray, anchor: np.ndarray) -> float:
    """Mean distance of 5 landmarks from the anchor's, a fraction of the anchor's eye distance."""
    anchor = np.asarray(anchor, np.float64)
    eyes = max(float(np.linalg.norm(anchor[1] - anchor[0])), 1e-9)
    return float(np.mean(np.linalg.norm(np.asarray(points, np.float64) - anchor, axis=1))) / eyes


def _gap(box: Sequence[float], last: Sequence[float]) -> float:
    """The largest edge move from ``last`` to ``box``, a fraction of ``box``'s side."""
    return max(abs(a - b) for a, b in zip(box, last)) / max(box[2] - box[0], 1e-9)


def _rect(box: Sequence[float]) -> tuple[int, int, int, int]:
    """The whole-pixel dlib rectangle (left, top, right, bottom; inclusive) the predictor runs on for ``box``."""
    x1, y1, x2, y2 = box
    return (round(x1), round(y1), round(x2) - 1, round(y2) - 1)


@lru_cache(maxsize=4)
def shape_predictor(path: str) -> ShapePredictor5:
    """One loaded predictor per file, shared by detectors and pipelines."""
    return ShapePredictor5(path)
