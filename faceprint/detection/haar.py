"""OpenCV's Viola-Jones Haar cascade (frontal faces). Boxes only; landmarks are estimated.

Scores are the cascade's final-stage weights (``detectMultiScale3``): higher is surer, not a probability.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from faceprint.detection.base import Detector
from faceprint.errors import WeightsMissingError
from faceprint.types import Face


class HaarCascade(Detector):
    def _load(self) -> Any:
        path = self.weight_path(self.spec.files[0])
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise WeightsMissingError(f"OpenCV could not load the Haar cascade {path}")
        return cascade

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        gray = cv2.equalizeHist(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        side = max(12, int(min_size))
        with self._lock:  # OpenCV does not promise a CascadeClassifier is safe to share between threads
            boxes, _, weights = self._model.detectMultiScale3(
                gray,
                scaleFactor=1.1,
                minNeighbors=int(self.options["min_neighbors"]),
                minSize=(side, side),
                outputRejectLevels=True,
            )
        return [Face(box=(x, y, x + w, y + h), score=float(s)) for (x, y, w, h), s in zip(boxes, np.ravel(weights))]
