"""Frame sources: webcams, video files, RTSP/HTTP streams, folders and patterns of images.

Decoding is OpenCV's ``VideoCapture`` (its FFmpeg back end): it ships with faceprint, reads every
container the issue names, and takes open/read timeouts for network streams (see docs/video.md).
:class:`FrameReader` runs the capture in its own thread and applies the real-time policy: a live
source keeps only the newest frame (older ones are dropped and counted), a file is read in full.
"""

from __future__ import annotations

import glob
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceprint.errors import ConfigError, VideoError, VideoNotFoundError, VideoTimeoutError
from faceprint.image import IMAGE_EXTENSIONS

log = logging.getLogger("faceprint")

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
#: consecutive failed reads after which a live source counts as ended
_LIVE_READ_FAILURES = 25

Source = int | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its index in the source (every frame read counts), time in seconds, BGR pixels."""

    index: int
    timestamp: float
    pixels: np.ndarray


def describe(source: Source) -> str:
    return f"webcam {source}" if isinstance(source, int) else str(source)


class FrameSource:
    """A source of BGR frames. ``read()`` returns the next frame's pixels and timestamp, or None at the end."""

    name: str
    live: bool
    fps: float
    expected_frames: int | None = None

    def read(self) -> tuple[np.ndarray, float] | None:
        raise NotImplementedError

    def skip(self) -> bool:
        """Advance one frame without decoding it fully; False at the end."""
        return self.read() is not None

    def close(self) -> None:
        """Release the device or file."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class CaptureSource(FrameSource):
    """OpenCV ``VideoCapture``: a webcam index, a video file, a stream URL or an ``img_%04d.png`` pattern."""

    def __init__(self, source: int | str, *, live: bool, timeout: float = 10.0, fps: float | None = None) -> None:
        self.name = describe(source)
        self.live = live
        self._timeout = float(timeout)
        self._cap = _open_capture(source, self.name, live, self._timeout)
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = float(fps) if fps else (reported if 0.0 < reported < 1000.0 else 25.0)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.expected_frames = count if count > 0 and not live else None
        self._t0 = time.monotonic()
        self._counted = bool(fps)  # a rate given by the caller (e.g. for an image pattern) sets the clock
        self._n = 0
        self._failures = 0

    def _stamp(self) -> float:
        if self.live:
            return time.monotonic() - self._t0
        if self._counted:
            return self._n / self.fps
        ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        # a demuxer without timestamps (image patterns, some AVIs) reports 0: count frames instead
        return ms / 1000.0 if ms > 0.0 or self._n == 0 else self._n / self.fps

    def _next(self, decode: bool) -> tuple[np.ndarray | None, float] | None:
        while True:
            if decode:
                ok, pixels = self._cap.read()
            else:
                ok, pixels = self._cap.grab(), None
            if ok:
                self._failures = 0
                stamp = self._stamp()
                self._n += 1
                return pixels, stamp
            if not self.live:
                return None
            self._failures += 1  # a network hiccup or a camera that briefly returns nothing
            if self._failures >= _LIVE_READ_FAILURES:
                log.warning("%s: no frame after %d tries; the stream has ended", self.name, self._failures)
                return None
            time.sleep(0.02)

    def read(self) -> tuple[np.ndarray, float] | None:
        got = self._next(True)
        if got is None or got[0] is None:
            return None
        return got[0], got[1]

    def skip(self) -> bool:
        return self._next(False) is not None

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(FrameSource):
    """The images of a folder (sorted by name) or of a glob pattern, as frames at ``fps``."""

    def __init__(self, paths: list[Path], name: str, fps: float | None = None) -> None:
        if not paths:
            raise VideoError("no image files found (expected .jpg, .png, ...)", name)
        self.name = name
        self.live = False
        self.fps = float(fps or 25.0)
        self.expected_frames = len(paths)
        self._paths = paths
        self._i = 0
        self._size: tuple[int, int] | None = None

    def read(self) -> tuple[np.ndarray, float] | None:
        while self._i < len(self._paths):
            path = self._paths[self._i]
            stamp = self._i / self.fps
            self._i += 1
            pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if pixels is None:
                log.warning("%s: not a readable image; skipped", path)
                continue
            if self._size is None:
                self._size = (pixels.shape[1], pixels.shape[0])
            elif (pixels.shape[1], pixels.shape[0]) != self._size:  # a video has one frame size
                pixels = cv2.resize(pixels, self._size, interpolation=cv2.INTER_AREA)
            return pixels, stamp
        return None

    def skip(self) -> bool:
        self._i += 1
        return self._i <= len(self._paths)


def _open_capture(source: int | str, name: str, live: bool, timeout: float) -> cv2.VideoCapture:
    """Open ``source`` within ``timeout`` seconds, or raise a typed error naming it."""
    params: list[int] = []
    if live and not isinstance(source, int):  # FFmpeg's network timeouts; a camera driver gets the deadline below
        ms = max(1, round(timeout * 1000))
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    box: dict[str, cv2.VideoCapture] = {}

    def opener() -> None:
        box["cap"] = cv2.VideoCapture(source, cv2.CAP_ANY, params)

    # OpenCV's own timeouts cover FFmpeg's network I/O; the thread also bounds a camera driver that blocks
    t = threading.Thread(target=opener, name="faceprint-open", daemon=True)
    t.start()
    t.join(timeout + 5.0 if live else None)
    if t.is_alive() or "cap" not in box:
        raise VideoTimeoutError(f"did not open within {timeout:.0f} s", name)
    cap = box["cap"]
    if not cap.isOpened():
        cap.release()
        if isinstance(source, int):
            raise VideoError("no such camera (check the index; `v4l2-ctl --list-devices` lists them)", name)
        if live:
            raise VideoTimeoutError(f"could not connect or got no video within {timeout:.0f} s "
                                    "(is the address right and the camera on?)", name)  # fmt: skip
        raise VideoError("cannot be decoded: not a video, or a damaged/truncated file", name)
    return cap


def open_source(source: Source, *, timeout: float = 10.0, fps: float | None = None) -> FrameSource:
    """Open a webcam index (``0`` or ``"0"``), a video file, an ``rtsp://``/``http(s)://`` URL, a folder of
    images, a glob (``frames/*.png``) or a printf pattern (``frames/%05d.png``).

    Raises :class:`VideoNotFoundError` for a missing file or folder, :class:`VideoTimeoutError` for a
    stream that does not answer within ``timeout`` seconds, :class:`VideoError` for anything unreadable.
    """
    if timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout}")
    if isinstance(source, bool) or not isinstance(source, int | str | os.PathLike):
        raise ConfigError(f"a video source is a webcam index, a path or a URL, not {type(source).__name__}")
    if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
        return CaptureSource(int(source), live=True, timeout=timeout, fps=fps)
    text = os.fspath(source)
    if "://" in text:
        return CaptureSource(text, live=not text.startswith("file://"), timeout=timeout, fps=fps)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        return ImageFolderSource(files, text, fps)
    if any(c in text for c in "*?["):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_EXTENSIONS)
        return ImageFolderSource(files, text, fps)
    if "%" in text:  # OpenCV's image-sequence reader: frames/%04d.png
        try:
            first = text % 0, text % 1
        except (TypeError, ValueError):
            raise VideoError("not a valid image-sequence pattern (use e.g. frames/%04d.png)", text) from None
        if not any(Path(p).is_file() for p in first):
            raise VideoNotFoundError(f"no frame {first[0]} or {first[1]}", text)
        return CaptureSource(text, live=False, timeout=timeout, fps=fps)
    if not path.exists():
        raise VideoNotFoundError("no such file or folder", text)
    if not path.is_file():
        raise VideoError("not a regular file", text)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageFolderSource([path], text, fps)
    if path.stat().st_size == 0:
        raise VideoError("the file is empty", text)
    return CaptureSource(text, live=False, timeout=timeout, fps=fps)


_DONE = object()


class FrameReader:
    """Reads a :class:`FrameSource` in a background thread.

    Live sources keep only the newest frame: when processing is slower than the camera, older
    frames are dropped (``dropped`` counts them) so results never lag behind. Files hand over every
    frame (the reader waits for the consumer). ``every=N`` processes every Nth frame (the others are
    skipped, not decoded in full); ``max_frames`` stops after that many frames are read.
    """

    def __init__(self, source: FrameSource, *, every: int = 1, max_frames: int | None = None) -> None:
        if every < 1:
            raise ConfigError(f"every must be >= 1, got {every}")
        if max_frames is not None and max_frames < 1:
            raise ConfigError(f"max_frames must be >= 1, got {max_frames}")
        self.source = source
        self.every = every
        self.max_frames = max_frames
        self.read = 0  # frames taken from the source (decoded or skipped)
        self.dropped = 0  # live frames replaced by a newer one before they were processed
        self.skipped = 0  # frames passed over by every=N
        self.ended_early = False
        self._q: queue.Queue[object] = queue.Queue(maxsize=1 if source.live else 8)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="faceprint-capture", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        if self.source.live and item is not _DONE:
            try:  # newest frame wins: the one waiting is dropped
                self._q.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self.source.live:
                    try:
                        self._q.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and self.read >= self.max_frames:
                    break
                if self.read % self.every:
                    if not self.source.skip():
                        break
                    self.read += 1
                    self.skipped += 1
                    continue
                got = self.source.read()
                if got is None:
                    break
                index = self.read
                self.read += 1
                if not self._put(Frame(index, got[1], got[0])):
                    break
            expected = self.source.expected_frames
            # containers estimate their frame count (duration × rate): a frame or two short is no damage
            short = expected is not None and self.read < expected - max(2, expected // 100)
            if short and self.max_frames is None and not self._stop.is_set():
                self.ended_early = True
                log.warning("%s: ended after %d of %d frames (truncated or damaged?)", self.source.name, self.read, expected)
        except BaseException as exc:  # handed to the consumer's thread
            self._error = exc
        finally:
            self._put(_DONE)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            try:
                item = self._q.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive() and self._q.empty():
                    break
                continue
            if item is _DONE:
                break
            yield item  # type: ignore[misc]
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop reading and release the source (waits a moment for the capture thread)."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.source.close()
