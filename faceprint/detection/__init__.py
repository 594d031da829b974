"""Face detectors: one file each, all behind :class:`faceprint.detection.base.Detector`."""

from __future__ import annotations

from typing import Any

from faceprint.detection.base import Detector
from faceprint.registry import get


def create_detector(name: str | Detector = "mtcnn", **options: Any) -> Detector:
    """A detector by registry name (any alias) or an already made :class:`Detector`."""
    if isinstance(name, Detector):
        return name
    spec = get(name, "detector")
    return spec.load_class()(spec, **options)


__all__ = ["Detector", "create_detector"]
