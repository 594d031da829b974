"""Shared pieces of the anchor-based ONNX detectors: input padding, anchor grids, decoding to faces."""

from __future__ import annotations

import cv2
import numpy as np

from faceprint.detection.base import nms
from faceprint.types import Face


def pad_to_stride(bgr: np.ndarray, stride: int = 32) -> np.ndarray:
    """Pad right and bottom with zeros so both sides are multiples of ``stride`` (coordinates unchanged)."""
    h, w = bgr.shape[:2]
    ph, pw = -h % stride, -w % stride
    if ph or pw:
        bgr = cv2.copyMakeBorder(bgr, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return bgr


def grid_centers(h: int, w: int, stride: int, per_cell: int) -> np.ndarray:
    """(h/stride * w/stride * per_cell, 2) anchor centres (x, y) in input pixels, row-major."""
    ys, xs = np.mgrid[: h // stride, : w // stride]
    centers = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centers, per_cell, axis=0)


def to_faces(boxes: np.ndarray, scores: np.ndarray, kps: np.ndarray | None, threshold: float, iou: float) -> list[Face]:
    """Faces above ``threshold`` after NMS; ``boxes`` (N, 4) xyxy, ``kps`` (N, 5, 2) or None."""
    keep = scores >= threshold
    boxes, scores = boxes[keep], scores[keep]
    kps = kps[keep] if kps is not None else None
    pick = nms(boxes, scores, iou)
    return [
        Face(
            box=tuple(float(v) for v in boxes[i]),
            score=float(scores[i]),
            landmarks=kps[i].astype(np.float32) if kps is not None else None,
            landmarks_source="detector" if kps is not None else "",
        )
        for i in pick
    ]
