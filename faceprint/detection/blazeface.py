"""MediaPipe BlazeFace (short- and full-range) from its ``.tflite`` file, run by OpenCV's TFLite importer.

No TensorFlow or mediapipe needed. The anchors are MediaPipe's SSD anchors (short range: 16x16x2
+ 8x8x6 at 128 px; full range: 48x48x1 at 192 px, unit-size anchors); the regressors are offsets
scaled by the input size. Its six keypoints are the eyes, nose tip, mouth centre and the ears;
the two mouth corners are placed on the mouth centre along the eye line, 0.92 eye-distances
apart (the median ratio measured over the test photos' MTCNN landmarks).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.detection.anchors import to_faces
from faceprint.detection.base import Detector
from faceprint.types import Face

# variant: (input size, [(feature map side, anchors per cell)]); score defaults are in the registry
_VARIANTS = {"short": (128, [(16, 2), (8, 6)]), "full": (192, [(48, 1)])}
_MOUTH_WIDTH_PER_EYE_DISTANCE = 0.92


def anchors(variant: str) -> np.ndarray:
    """(A, 2) anchor centres in unit coordinates."""
    _, grids = _VARIANTS[variant]
    out = []
    for side, per in grids:
        ys, xs = np.mgrid[:side, :side]
        c = np.column_stack([(xs.ravel() + 0.5) / side, (ys.ravel() + 0.5) / side])
        out.append(np.repeat(c, per, axis=0))
    return np.vstack(out).astype(np.float32)


class BlazeFace(Detector):
    def _load(self) -> Any:
        variant = self.options["variant"]
        if variant not in _VARIANTS:
            from faceprint.errors import ConfigError

            raise ConfigError(f"BlazeFace variant must be 'short' or 'full', got {variant!r}")
        net = cv2.dnn.readNetFromTFLite(self.weight_path(self.spec.files[0]))
        # outputs: (scores (1, A, 1), regressors (1, A, 16)); their names differ between the two files
        names = sorted(net.getUnconnectedOutLayersNames(), key=lambda n: "regress" in n)
        return net, anchors(variant), names

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        size, _ = _VARIANTS[self.options["variant"]]
        net, anc, names = self._model
        h, w = bgr.shape[:2]
        scale = size / max(h, w)  # letterbox: keep the aspect ratio, pad right/bottom
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[: max(1, round(h * scale)), : max(1, round(w * scale))] = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        blob = cv2.dnn.blobFromImage(canvas, 1 / 127.5, (size, size), (127.5, 127.5, 127.5), swapRB=True)
        with self._lock:
            net.setInput(blob)
            scores, reg = net.forward(names)
        scores = 1.0 / (1.0 + np.exp(-np.clip(scores.reshape(-1).astype(np.float64), -100, 100)))
        reg = reg.reshape(-1, 16) / size
        centers = anc + reg[:, :2]
        half = reg[:, 2:4] / 2
        boxes = np.hstack([centers - half, centers + half]) * size / scale
        pts = (anc[:, None, :] + reg[:, 4:16].reshape(-1, 6, 2)) * size / scale
        kps = _five(pts)
        thr = self.score_cut
        return to_faces(boxes, scores, kps, thr, float(self.options["nms_threshold"]))


def _five(pts: np.ndarray) -> np.ndarray:
    """(N, 6, 2) BlazeFace keypoints (right eye, left eye, nose, mouth, right ear, left ear) → (N, 5, 2)."""
    le, re, nose, mouth = pts[:, 0], pts[:, 1], pts[:, 2], pts[:, 3]
    half = (re - le) * (_MOUTH_WIDTH_PER_EYE_DISTANCE / 2)
    return np.stack([le, re, nose, mouth - half, mouth + half], axis=1)
