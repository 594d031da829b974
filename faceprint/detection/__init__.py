"""Face detectors: one file each, all behind :class:`faceprint.detection.base.Detector`."""

from __future__ import annotations

from typing import Any

from faceprint.detection.base import Detector
from faceprint.errors import DeviceError
from faceprint.models.registry import get, specs


def create_detector(name: str | Detector = "mtcnn", *, device: str | None = None, **options: Any) -> Detector:
    """A detector by registry name (any alias) or an already made :class:`Detector`.

    ``device`` ("cpu", "cuda", "auto") goes to detectors that run on a chosen device; asking a
    CPU-only detector (dlib, OpenCV's) for "cuda" raises rather than silently using the CPU.
    """
    if isinstance(name, Detector):
        return name
    spec = get(name, "detector")
    if device is not None:
        if device not in ("cpu", "cuda", "auto"):
            raise DeviceError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'auto'")
        if spec.takes_device:
            options.setdefault("device", device)
        elif device not in ("cpu", "auto"):
            raise DeviceError(
                f"detector {spec.name!r} runs on the CPU only; for device={device!r} use one that takes a device "
                f"({', '.join(s.name for s in specs('detector') if s.takes_device)}), or keep this one on the "
                "CPU: detector_options={'device': 'cpu'} (command line: --detector-device cpu)"
            )
    return spec.load_class()(spec, **options)


__all__ = ["Detector", "create_detector"]
