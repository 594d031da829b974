"""Shared pieces of the hardening tests: a deadline for calls that could hang, odd folder entries."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

NON_UTF8 = b"caf\xe9"  # Latin-1 "café": not valid UTF-8


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM interrupts a blocking open() or read() in the main thread."""

    def fire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s (hung?)")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def non_utf8_link(folder: Path, target: Path, stem: bytes = NON_UTF8) -> Path:
    """A symlink whose name is not UTF-8, to a real photo; returns it as Python names it (surrogates)."""
    name = os.fsencode(folder) + b"/" + stem + target.suffix.encode()
    os.symlink(os.fsencode(target), name)
    return Path(os.fsdecode(name))


ODD_KINDS = ("dangling", "loop", "fifo", "socket", "dir_link", "parent_link", "non_utf8")


def add_odd(folder: Path, kind: str, n: int, photo: Path) -> tuple[Path, str | None]:
    """Put one odd entry of ``kind`` into ``folder``; (its path, the reason word a skip report must
    hold, or None when it must be indexed like any photo)."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"odd{n}.jpg"
    if kind == "dangling":
        p.symlink_to(folder / "nowhere" / "x.jpg")
        return p, "broken symlink"
    if kind == "loop":
        p.symlink_to(p)
        return p, "symlink loop"
    if kind == "fifo":
        os.mkfifo(p)
        return p, "FIFO"
    if kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
        return p, "socket"
    if kind == "dir_link":
        p = folder / f"odd{n}"
        p.symlink_to(folder.parent)
        return p, "symlink to a folder"
    if kind == "parent_link":
        p = folder / f"odd{n}"
        p.symlink_to("..")
        return p, "symlink to a folder"
    return non_utf8_link(folder, photo, NON_UTF8 + str(n).encode()), None
