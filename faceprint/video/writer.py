"""Annotated output video: boxes, track ids, names and attributes drawn on each frame, written as MP4.

H.264 comes from PyAV's bundled FFmpeg (libx264) when ``av`` is installed (``pip install 'faceprint[video]'``):
the opencv-python-headless wheels carry no H.264 encoder (``cv2.VideoWriter`` with ``avc1`` fails to open).
Without PyAV the writer falls back to OpenCV's MPEG-4 Part 2 (``mp4v``) and says so in the log.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceprint.errors import ConfigError
from faceprint.video.types import TrackedFace

log = logging.getLogger("faceprint")

_PALETTE = ((0, 200, 0), (255, 128, 0), (0, 128, 255), (200, 0, 200), (0, 200, 200), (128, 128, 255), (255, 0, 128))


def _label(f: TrackedFace) -> str:
    parts = [f"#{f.track_id}"]
    if f.identity is not None:
        parts.append(f.identity)
    if f.age is not None:
        parts.append(f"{f.age:.0f}")
    if f.gender is not None:
        parts.append(f.gender)
    if f.emotion is not None:
        parts.append(f.emotion)
    if f.is_real is False:
        parts.append("SPOOF?")
    return " ".join(parts)


def annotate_frame(frame: np.ndarray, faces: Sequence[TrackedFace]) -> np.ndarray:
    """A copy of ``frame`` with each tracked face's box (colour per track), id, name and attributes."""
    out = frame.copy()
    thick = max(1, round(max(out.shape[:2]) / 600))
    for f in faces:
        color = (0, 0, 255) if f.is_real is False else _PALETTE[f.track_id % len(_PALETTE)]
        x1, y1, x2, y2 = (round(v) for v in f.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick)
        text = _label(f)
        scale = 0.45 * thick
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = y1 - 4 if y1 - th - base - 4 >= 0 else y2 + th + 4
        cv2.rectangle(out, (x1, ty - th - 2), (x1 + tw + 2, ty + base), color, -1)
        cv2.putText(out, text, (x1 + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


class VideoWriter:
    """Writes BGR frames to ``path`` (.mp4, .mkv, .mov or .avi): H.264 through PyAV if present, else mp4v.

    ``codec``: "auto" (H.264 if possible), "h264" (fail without it), or "mp4v". ``close()`` finishes the
    file so that it plays (also after Ctrl-C); frames of another size than the first are resized.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float, *, codec: str = "auto") -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".mkv", ".mov", ".avi"):
            raise ConfigError(f"{self.path}: write the annotated video as .mp4 (or .mkv, .mov, .avi)")
        if codec not in ("auto", "h264", "mp4v"):
            raise ConfigError(f"codec must be 'auto', 'h264' or 'mp4v', got {codec!r}")
        if not self.path.parent.is_dir():
            raise ConfigError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.want = codec
        self.codec: str | None = None  # decided on the first frame, when the size is known
        self.frames = 0
        self._size: tuple[int, int] | None = None
        self._av: Any = None
        self._stream: Any = None
        self._cv: cv2.VideoWriter | None = None

    def _open(self, w: int, h: int) -> None:
        self._size = (w, h)
        if self.want in ("auto", "h264"):
            try:
                import av  # noqa: F401

                self._open_av(w, h)
                return
            except ImportError:
                if self.want == "h264":
                    raise ConfigError("H.264 output needs PyAV: pip install 'faceprint[video]'") from None
            except Exception as exc:  # av present but this encoder missing from its FFmpeg build
                if self.want == "h264":
                    raise ConfigError(f"{self.path}: H.264 encoder unavailable ({exc})") from exc
                log.warning("%s: H.264 encoder unavailable (%s)", self.path, exc)
            log.warning("%s: no H.264 encoder here (pip install 'faceprint[video]' adds PyAV's libx264); "
                        "writing MPEG-4 Part 2 (mp4v) instead", self.path)  # fmt: skip
        self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        if not self._cv.isOpened():
            raise ConfigError(f"{self.path}: OpenCV could not open an mp4v writer")
        self.codec = "mpeg4 (mp4v, OpenCV)"

    def _open_av(self, w: int, h: int) -> None:
        from fractions import Fraction

        import av

        container = av.open(str(self.path), "w")
        try:
            stream = container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
            stream.width, stream.height = w - w % 2, h - h % 2  # yuv420p wants even sides
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "veryfast", "crf": "23"}
        except Exception:
            container.close()
            self.path.unlink(missing_ok=True)
            raise
        self._av, self._stream = container, stream
        self.codec = "h264 (libx264, PyAV)"

    def write(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if self._size is None:
            self._open(w, h)
        assert self._size is not None  # noqa: S101  (set by _open)
        if (w, h) != self._size:
            frame = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
        if self._av is not None:
            import av

            sw, sh = self._stream.width, self._stream.height
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:sh, :sw]), format="bgr24")
            for packet in self._stream.encode(vf):
                self._av.mux(packet)
        else:
            assert self._cv is not None  # noqa: S101
            self._cv.write(frame)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        if self._av is not None:
            for packet in self._stream.encode():
                self._av.mux(packet)
            self._av.close()
            self._av = None
        if self._cv is not None:
            self._cv.release()
            self._cv = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class BackgroundWriter:
    """Annotates and encodes frames in its own thread, so encoding overlaps detection.

    ``put(frame, faces)`` hands over a frame and its tracked faces (waits when 8 are queued: a file is
    never cut short); ``close()`` writes what is queued and finishes the file. An encoder error is raised
    by the next ``put`` or by ``close``.
    """

    def __init__(self, writer: VideoWriter) -> None:
        self.writer = writer
        self._q: queue.Queue[Any] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="faceprint-writer", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Path:
        return self.writer.path

    @property
    def codec(self) -> str | None:
        return self.writer.codec

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain: the consumer learns of the error on its next put
            frame, faces = item
            try:
                self.writer.write(frame if faces is None else annotate_frame(frame, faces))
            except BaseException as exc:
                self._error = exc

    def put(self, frame: np.ndarray, faces: Sequence[TrackedFace] | None) -> None:
        """Queue ``frame``; with ``faces`` it is annotated first (None: already drawn)."""
        if self._error is not None:
            raise self._error
        self._q.put((frame, faces))

    def close(self) -> None:
        self._q.put(None)
        self._thread.join()
        try:
            self.writer.close()
        finally:
            if self._error is not None:
                error, self._error = self._error, None
                raise error
