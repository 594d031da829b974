"""Real-time video: sources, a face tracker, per-track recognition, annotated output and events.

Names load lazily, so ``faceprint.video.cli`` (argparse only) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "stream": "faceprint.video.stream",
    "VideoStream": "faceprint.video.stream",
    "VideoPipeline": "faceprint.video.pipeline",
    "Tracker": "faceprint.video.tracker",
    "FrameResult": "faceprint.video.types",
    "TrackedFace": "faceprint.video.types",
    "Event": "faceprint.video.types",
    "StreamSummary": "faceprint.video.types",
    "open_source": "faceprint.video.source",
    "FrameReader": "faceprint.video.source",
    "VideoWriter": "faceprint.video.writer",
    "annotate_frame": "faceprint.video.writer",
    "read_events": "faceprint.video.events",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faceprint.video' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
