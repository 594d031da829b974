"""``faceprint.stream``: a source in, typed per-frame results out; optionally an annotated video and an event log."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from faceprint.video.events import EventLog
from faceprint.video.pipeline import VideoPipeline
from faceprint.video.source import FrameReader, Source, open_source
from faceprint.video.types import Event, FrameResult, StreamSummary
from faceprint.video.window import Window
from faceprint.video.writer import BackgroundWriter, VideoWriter, annotate_frame

log = logging.getLogger("faceprint")


class VideoStream:
    """Iterate for :class:`FrameResult`s; then ``summary`` and ``final_events`` (those of the stream's end).

    Closing (or leaving a ``with`` block, or breaking out and calling :meth:`close`) stops the capture,
    finishes the annotated video so it plays, and writes the last events.
    """

    def __init__(self, source: Source, db: Any = None, *, out: str | os.PathLike[str] | None = None,
                 events: str | os.PathLike[str] | None = None, show: bool = False, every: int = 1,
                 max_frames: int | None = None, timeout: float = 10.0, fps: float | None = None,
                 codec: str = "auto", pipeline: VideoPipeline | None = None, **options: Any) -> None:  # fmt: skip
        self.name = str(source)
        src = open_source(source, timeout=timeout, fps=fps)
        self._closers: list[Any] = [src.close]
        try:
            self.reader = FrameReader(src, every=every, max_frames=max_frames)
            self._closers.insert(0, self.reader.close)
            self.name = src.name
            self.writer = BackgroundWriter(VideoWriter(out, src.fps / every, codec=codec)) if out else None
            self.log = EventLog(events) if events else None
            self.vp = pipeline or VideoPipeline(db, **options)
            self._own_vp = pipeline is None
        except BaseException:
            self._close_source()
            raise
        self.window = Window(f"faceprint: {src.name}") if show else None
        self.final_events: list[Event] = []
        self.summary: StreamSummary | None = None
        self.processed = 0
        self.interrupted = False
        self._last: FrameResult | None = None
        self._t0 = time.perf_counter()
        self._closed = False

    def _close_source(self) -> None:
        for close in self._closers:
            close()
        self._closers = []

    def __enter__(self) -> VideoStream:
        return self

    def __exit__(self, exc_type: Any, *_: object) -> None:
        self.interrupted = self.interrupted or exc_type is KeyboardInterrupt
        self.close()

    def __iter__(self) -> Iterator[FrameResult]:
        try:
            for frame in self.reader:
                r = self.vp.process(frame.pixels, index=frame.index, timestamp=frame.timestamp)
                self.processed += 1
                self._last = r
                if self.log is not None:
                    self.log.write(r.events)
                if self.window is not None:
                    drawn = annotate_frame(frame.pixels, r.faces)
                    if self.writer is not None:
                        self.writer.put(drawn, None)
                    if not self.window.show(drawn):
                        self.interrupted = True
                        break
                elif self.writer is not None:
                    self.writer.put(frame.pixels, r.faces)  # drawn and encoded in the writer's thread
                yield r
        except KeyboardInterrupt:
            self.interrupted = True
            raise
        finally:
            self.close()

    def close(self) -> StreamSummary:
        """Stop, finish the outputs, and return the summary (idempotent)."""
        if self._closed:
            assert self.summary is not None  # noqa: S101
            return self.summary
        self._closed = True
        try:
            last = self._last
            self.final_events = self.vp.finish(last.index if last else 0, last.timestamp if last else 0.0)
            if self.log is not None:
                self.log.write(self.final_events)
        finally:
            self._close_source()
            if self.writer is not None:
                self.writer.close()
            if self.log is not None:
                self.log.close()
            if self.window is not None:
                self.window.close()
            if self._own_vp:
                self.vp.close()
        seconds = time.perf_counter() - self._t0
        r = self.reader
        self.summary = StreamSummary(
            source=self.name, frames_read=r.read, frames_processed=self.processed, frames_dropped=r.dropped,
            frames_skipped=r.skipped, tracks=self.vp.tracks_started, identities=tuple(sorted(self.vp.identities)),
            seconds=seconds, fps=self.processed / seconds if seconds > 0 else 0.0, ended_early=r.ended_early,
            interrupted=self.interrupted, output=str(self.writer.path) if self.writer else None,
            codec=self.writer.codec if self.writer else None, events_file=str(self.log.path) if self.log else None,
        )  # fmt: skip
        log.info("%s", self.summary.text())
        return self.summary


def stream(source: Source, db: Any = None, **options: Any) -> VideoStream:
    """Track, recognise and describe the faces of a video, frame by frame.

        >>> for r in faceprint.stream("door.mp4", db="people/", out="annotated.mp4", events="events.jsonl"):
        ...     for f in r.faces:
        ...         print(r.index, f.track_id, f.identity, f.box)

    ``source``: a webcam index (0), a video file, an rtsp:// or http(s):// URL, a folder of frames, a glob
    or an ``img_%04d.png`` pattern. ``db``: any gallery :func:`faceprint.find` takes (None: no identities).
    Options: ``out`` (annotated MP4), ``events`` (JSON-lines file), ``show`` (a window, where a display
    exists), ``every`` (process every Nth frame), ``max_frames``, ``timeout`` (seconds to open a
    stream), ``fps`` (of a frame folder), ``codec``, and any :class:`VideoPipeline` option (detector,
    actions, anti_spoofing, threshold, detect_side, embed_every, ...). Live sources drop frames rather
    than fall behind; files give every frame. Returns a :class:`VideoStream`: iterate it, then read
    its ``summary``.
    """
    return VideoStream(source, db, **options)
