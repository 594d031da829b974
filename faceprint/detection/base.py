"""The detector interface and the post-processing every detector shares."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from faceprint.detection.select import check_pick
from faceprint.detection.select import pick as pick_face
from faceprint.errors import ConfigError
from faceprint.image import ImageInput, load_image
from faceprint.models.runtime import LazyModel
from faceprint.models.specs import DetectorSpec, ModelSpec
from faceprint.types import Face

#: a box this close to the image's edge (a fraction of its longer side) counts as cut by it
EDGE_MARGIN = 0.05


class Detector(LazyModel):
    """Finds faces. Subclasses implement :meth:`_load` and :meth:`_detect` only.

    Options common to all detectors:
      min_face_size: smallest face side kept, in pixels of the original image.
      score_threshold: drop faces scoring below it (None: the detector's own default).
      max_faces: keep at most this many, highest scores first.
      max_side: detect on a copy downscaled so its long side is at most this (None: never);
        boxes are mapped back. Defaults per detector in the registry.
      expand: grow each box by this fraction of its size on every side.
      weights: {file name: path} to use instead of looking the files up.

    A detector only detects: faces of a detector whose spec has ``landmarks=False`` come without
    landmarks; the pipeline's landmark stage adds them (:mod:`faceprint.landmarkers.dlib5`).
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        min_face_size: int = 20,
        score_threshold: float | None = None,
        max_faces: int | None = None,
        max_side: int | str | None = "default",
        expand: float = 0.0,
        weights: dict[str, str] | None = None,
        **options: Any,
    ) -> None:
        if min_face_size < 1:
            raise ConfigError(f"min_face_size must be >= 1, got {min_face_size}")
        if max_faces is not None and max_faces < 1:
            raise ConfigError(f"max_faces must be >= 1 or None, got {max_faces}")
        if not 0.0 <= expand <= 2.0:
            raise ConfigError(f"expand must be within [0, 2], got {expand}")
        if not isinstance(spec, DetectorSpec):
            raise ConfigError(f"{spec.name!r} is a {spec.task} model, not a detector")
        defaults = spec.defaults()
        unknown = set(options) - set(defaults)
        if unknown:
            raise ConfigError(f"detector {spec.name!r} has no option(s) {sorted(unknown)}; it takes {sorted(defaults)}")
        super().__init__(spec, weights)
        self.spec: DetectorSpec = spec
        self.min_face_size = min_face_size
        self.score_threshold = score_threshold
        self.max_faces = max_faces
        self.max_side = spec.max_side if max_side == "default" else max_side
        self.expand = expand
        self.options = {**defaults, **options}

    @property
    def score_cut(self) -> float | None:
        """The score threshold in force: the caller's, else the registry's default for this detector."""
        return self.spec.score_threshold if self.score_threshold is None else self.score_threshold

    @abstractmethod
    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        """Raw detections on ``bgr`` (already resized per the input-size policy).

        ``min_size`` is ``min_face_size`` in ``bgr``'s pixels: a hint; the base class filters anyway.
        """

    def _detect_picked(self, bgr: np.ndarray, min_size: float, policy: str) -> list[Face]:
        """Raw detections that include the face ``policy`` (:mod:`faceprint.detection.select`) keeps; a
        detector that can find it faster overrides this."""
        return self._detect(bgr, min_size)

    def detect(self, image: ImageInput, *, largest: bool = False, pick: str | None = None) -> list[Face]:
        """Faces in one image, highest score first; with ``pick`` ("main" or "largest"; ``largest=True`` is
        short for ``pick="largest"``), only the face that policy keeps (:mod:`faceprint.detection.select`)."""
        if largest and pick not in (None, "largest"):
            raise ConfigError(f"largest=True asks for the largest face, pick={pick!r} for another: give one")
        pick = pick or ("largest" if largest else None)
        if pick is not None:
            check_pick(pick)
        bgr = load_image(image).pixels
        if min(bgr.shape[:2]) < self.min_face_size:  # no face fits; some networks also fail on such inputs
            return []
        self._ensure_loaded()
        scale = 1.0
        work = bgr
        if self.max_side and max(bgr.shape[:2]) > self.max_side:
            scale = self.max_side / max(bgr.shape[:2])
            size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
            work = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        min_size = self.min_face_size * scale
        faces = self._detect_picked(work, min_size, pick) if pick else self._detect(work, min_size)
        if scale != 1.0:
            faces = [f.scaled(1.0 / scale) for f in faces]
        return self._postprocess(faces, bgr, pick)

    def predictor_box(self, face: Face, size: tuple[int, int]) -> tuple[float, float, float, float]:
        """The box dlib's 5-point predictor starts from for ``face`` in an image of ``size`` (width, height):
        for one of this detector's faces, where dlib's HOG detector would have boxed it (the registry's
        ``hog_box``; ``expand`` undone), else its box. Only a starting point: the refinement moves it to the
        shape's own canonical box. A box at the image's edge (within :data:`EDGE_MARGIN` of its side) keeps
        its place: cut by the edge, its centre is not the face's, and a start moved from it can settle on
        the wrong features (a nose taken for the eyes); the margin (of the box as given, ``expand``
        included) also covers boxes scaled between an image's reduced and full decodes, or moved by a
        video tracker."""
        mapping = self.spec.hog_box
        x1, y1, x2, y2 = face.box
        if mapping is None or face.detector != self.name:
            return face.box
        given = max(x2 - x1, y2 - y1)
        margin = EDGE_MARGIN * given
        if min(x1, y1) <= margin or x2 >= size[0] - margin or y2 >= size[1] - margin:
            return face.box
        dx, dy, side = mapping
        long = given / (1.0 + 2.0 * self.expand)
        cx, cy, half = (x1 + x2) / 2 + dx * long, (y1 + y2) / 2 + dy * long, side * long / 2
        return (cx - half, cy - half, cx + half, cy + half)

    def detect_batch(self, images: Sequence[ImageInput]) -> list[list[Face]]:
        return [self.detect(img) for img in images]

    def _kept(self, faces: list[Face], width: int, height: int, min_size: float) -> list[Face]:
        """The faces as returned: over the score threshold, grown by ``expand``, clipped to the image, at
        least ``min_size`` on both sides. A one-face search measures its stop on these boxes too."""
        out: list[Face] = []
        for f in faces:
            if self.score_threshold is not None and f.score < self.score_threshold:
                continue
            x1, y1, x2, y2 = f.box
            if self.expand:
                dx, dy = (x2 - x1) * self.expand, (y2 - y1) * self.expand
                x1, y1, x2, y2 = x1 - dx, y1 - dy, x2 + dx, y2 + dy
            box = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
            if min(box[2] - box[0], box[3] - box[1]) < min_size:
                continue
            out.append(replace(f, box=tuple(float(v) for v in box), score=float(f.score), detector=self.name))
        return out

    def _postprocess(self, faces: list[Face], bgr: np.ndarray, pick: str | None = None) -> list[Face]:
        h, w = bgr.shape[:2]
        out = self._kept(faces, w, h, self.min_face_size)
        out.sort(key=lambda f: -f.score)
        if self.max_faces is not None:
            out = out[: self.max_faces]
        if pick and out:
            out = [pick_face(pick, out, w, h)]
        return out


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first.

    ``mode`` "union" divides the overlap by the union (IoU); "min" by the smaller box (MTCNN's last stage).
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    scores = np.asarray(scores)
    if mode == "union" and len(boxes) > 1 and bool(np.all(scores > 0)) and _float32_exact(scores):  # NaN fails too
        # OpenCV's greedy NMS is the same algorithm (stable sort by score, keep IoU <= iou) and ~20x faster;
        # width/height + 1 give it this function's inclusive-pixel areas and overlaps. It sorts float32
        # scores (hence the exactness check: no new ties) and compares overlaps in float32, so only an
        # overlap within ~1e-7 of ``iou`` could be decided the other way.
        rects = np.column_stack([boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1])
        kept = cv2.dnn.NMSBoxes(rects.tolist(), scores.astype(np.float64).tolist(), 0.0, float(iou))
        return np.asarray(kept, dtype=np.int64).reshape(-1)
    return greedy_nms(boxes, scores, iou, mode)


def _float32_exact(values: np.ndarray) -> bool:
    """Whether every value survives a round trip through float32 (network scores do)."""
    return values.dtype == np.float32 or bool(np.all(values.astype(np.float32) == values))


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou: float, mode: str = "union") -> np.ndarray:
    """:func:`nms` in numpy (the reference the OpenCV path is tested against; "min" mode, scores <= 0 or
    beyond float32's precision)."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = iw * ih
        denom = np.minimum(areas[i], areas[rest]) if mode == "min" else areas[i] + areas[rest] - inter
        order = rest[inter / denom <= iou]
    return np.asarray(keep, dtype=np.int64)
