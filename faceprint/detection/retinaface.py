"""RetinaFace with a MobileNet-0.25 backbone: priors at strides 8/16/32 (two sizes each), SSD-style decoding.

``RetinaFaceONNX`` runs the ONNX export from libfacedetection.train. Input: BGR minus the mean
(104, 117, 123), as the network was trained.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from faceprint.detection.anchors import pad_to_stride, to_faces
from faceprint.detection.base import Detector
from faceprint.models.runtime import onnx_session
from faceprint.types import Face

_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
_STEPS = (8, 16, 32)
_VARIANCE = (0.1, 0.2)
_MEAN_BGR = np.array([104.0, 117.0, 123.0], np.float32)


def priors(h: int, w: int, min_sizes: tuple[tuple[int, int], ...] = _MIN_SIZES) -> np.ndarray:
    """(A, 4) priors (cx, cy, w, h) in input pixels, in the order the heads emit them."""
    out = []
    for sizes, step in zip(min_sizes, _STEPS):
        fh, fw = -(-h // step), -(-w // step)
        ys, xs = np.mgrid[:fh, :fw]
        cx, cy = (xs.ravel() + 0.5) * step, (ys.ravel() + 0.5) * step
        for_cell = [np.column_stack([cx, cy, np.full_like(cx, s, dtype=np.float64), np.full_like(cx, s, dtype=np.float64)]) for s in sizes]
        out.append(np.stack(for_cell, axis=1).reshape(-1, 4))
    return np.vstack(out).astype(np.float32)


def decode(loc: np.ndarray, conf: np.ndarray, landms: np.ndarray, pri: np.ndarray, threshold: float, iou: float) -> list[Face]:
    """Boxes and landmarks from the heads' offsets (``conf`` already softmaxed, column 1 = face)."""
    centers = pri[:, :2] + loc[:, :2] * _VARIANCE[0] * pri[:, 2:]
    sizes = pri[:, 2:] * np.exp(loc[:, 2:] * _VARIANCE[1])
    boxes = np.hstack([centers - sizes / 2, centers + sizes / 2])
    kps = pri[:, None, :2] + landms.reshape(-1, 5, 2) * _VARIANCE[0] * pri[:, None, 2:]
    return to_faces(boxes, conf[:, 1], kps, threshold, iou)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class RetinaFaceONNX(Detector):
    def _load(self) -> Any:
        return onnx_session(self.weight_path(self.spec.files[0]), self.options["device"])

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        img = pad_to_stride(bgr)
        blob = (img.astype(np.float32) - _MEAN_BGR).transpose(2, 0, 1)[None]
        loc, conf, landms = self._model.run(None, {self._model.get_inputs()[0].name: blob})
        conf = conf[0]
        if not np.allclose(conf.sum(-1), 1.0, atol=1e-3):
            conf = _softmax(conf)
        thr = self.score_cut
        return decode(loc[0], conf, landms[0], priors(*img.shape[:2]), thr, float(self.options["nms_threshold"]))
