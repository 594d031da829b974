"""The ``--show`` preview window: OpenCV's GUI where the OpenCV build has one, else Tk, else none.

faceprint depends on opencv-python-headless (no GUI), so on most installs ``cv2.imshow`` raises; Tk
(Python's own tkinter + Pillow's ImageTk) then shows the frames. Without a display (no ``DISPLAY`` /
``WAYLAND_DISPLAY``) or without tkinter there is no window: one warning, and the stream carries on.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

import cv2
import numpy as np

log = logging.getLogger("faceprint")


class _TkView:
    def __init__(self, title: str) -> None:
        import tkinter

        from PIL import ImageTk  # noqa: F401  (fail here, not on the first frame)

        self.root = tkinter.Tk()
        self.root.title(title)
        self.label = tkinter.Label(self.root)
        self.label.pack()
        self.open = True
        self.root.protocol("WM_DELETE_WINDOW", self._closed)
        self.root.bind("<Key>", lambda e: self._closed() if e.keysym in ("q", "Escape") else None)

    def _closed(self) -> None:
        self.open = False

    def show(self, frame: np.ndarray) -> bool:
        from PIL import Image, ImageTk

        h, w = frame.shape[:2]
        if max(h, w) > 960:  # a preview: Tk's image conversion is slow on full HD frames
            s = 960 / max(h, w)
            frame = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        self._photo = ImageTk.PhotoImage(Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))  # kept alive
        self.label.configure(image=self._photo)
        self.root.update()
        return self.open

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.root.destroy()


class Window:
    """``show(frame)`` returns False once the user closed the window or pressed q / Esc."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.kind: str | None = None  # "opencv" | "tk" | None (no window), decided on the first frame
        self._tk: _TkView | None = None
        self._tried = False

    def _open(self, frame: np.ndarray) -> None:
        self._tried = True
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt"):
            log.warning("--show: no display available (DISPLAY is not set); carrying on without a window")
            return
        try:
            cv2.imshow(self.title, frame)
            cv2.waitKey(1)
            self.kind = "opencv"
            return
        except cv2.error:
            pass  # opencv-python-headless: no GUI; try Tk
        try:
            self._tk = _TkView(self.title)
            self.kind = "tk"
        except Exception as exc:  # no tkinter, or the display refused the connection
            log.warning("--show: no window possible (OpenCV has no GUI here; Tk: %s); carrying on without one",
                        str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__)  # fmt: skip

    def show(self, frame: np.ndarray) -> bool:
        if not self._tried:
            self._open(frame)
        if self.kind == "opencv":
            cv2.imshow(self.title, frame)
            return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)
        if self._tk is not None:
            try:
                return self._tk.show(frame)
            except Exception as exc:  # the window was destroyed under us
                log.warning("--show: the window failed (%s); carrying on without it", exc)
                self._tk = None
                return False
        return True

    def close(self) -> None:
        if self.kind == "opencv":
            with contextlib.suppress(cv2.error):
                cv2.destroyWindow(self.title)
        if self._tk is not None:
            self._tk.close()
            self._tk = None

    def __enter__(self) -> Window:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
