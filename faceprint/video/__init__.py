"""Real-time video: sources, a face tracker, per-track recognition, annotated output and events.

Names load lazily, so ``faceprint.video.cli`` (argparse only) imports nothing heavy.
"""

from __future__ import annotations

from faceprint.lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
