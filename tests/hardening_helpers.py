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


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` and whose data is a few bytes: a decompression bomb
    for any reader that allocates from the header before checking it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def build_corpus(root: Path) -> dict[str, object]:
    """Bad and odd inputs of every kind, made at run time (no real face among them): name → input."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (120, 160, 3), np.uint8)

    def enc(img: Image.Image, fmt: str, **kw: object) -> bytes:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    jpeg = enc(Image.fromarray(noise), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90
    files: dict[str, bytes] = {
        "empty.jpg": b"", "truncated.jpg": jpeg[: len(jpeg) // 2], "text.jpg": b"hello, this is not a photo\n" * 20,
        "gray16.png": enc(Image.fromarray(rng.integers(0, 65535, (60, 80), np.uint16)), "PNG"),
        "cmyk.jpg": enc(Image.fromarray(noise).convert("CMYK"), "JPEG"),
        "palette.png": enc(Image.fromarray(noise).convert("P"), "PNG"),
        "exif.jpg": enc(Image.fromarray(noise), "JPEG", exif=exif), "one.png": enc(Image.new("RGB", (1, 1)), "PNG"),
        "bomb.png": _png_header_only(30_000, 30_000), "wide.png": _png_header_only(200_000, 10),
        "la.png": enc(Image.fromarray(noise).convert("LA"), "PNG"), "anim.gif": enc(Image.fromarray(noise), "GIF"),
        "tiny.webp": enc(Image.fromarray(noise), "WEBP"), "img.tiff": enc(Image.fromarray(noise), "TIFF"),
        "bad.bmp": b"BM" + os.urandom(200), "zeros.png": b"\x00" * 1000, "html.jpg": b"<html><body>404</body></html>",
    }  # fmt: skip
    out: dict[str, object] = {}
    for name, data in files.items():
        (root / name).write_bytes(data)
        out[f"path:{name}"] = str(root / name)
    out["bytes:truncated"], out["bytes:bomb"], out["bytes:empty"] = files["truncated.jpg"], files["bomb.png"], b""
    out["pathlike:cmyk"] = root / "cmyk.jpg"
    for i, kind in enumerate(("dangling", "loop", "fifo", "socket")):
        out[f"path:{kind}"] = str(add_odd(root / "odd", kind, i, root / "one.png")[0])
    out["path:non_utf8"] = str(non_utf8_link(root, root / "exif.jpg"))
    out["path:folder"] = str(root / "odd")
    out["str:empty"], out["str:space"], out["str:missing"] = "", "   ", str(root / "missing.jpg")
    out["str:url"] = "https://example.com/a.jpg"
    out["str:b64_garbage"] = "QUJD" * 40 + "!!"
    out["str:b64_text"] = base64.b64encode(b"not an image at all " * 10).decode()
    out["str:data_text"] = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    out["str:data_png_garbage"] = "data:image/png;base64,AAAA"
    out["str:data_bomb"] = "data:image/png;base64," + base64.b64encode(files["bomb.png"]).decode()
    out["str:nul"] = "a\x00b.jpg"
    out["str:long"] = "x" * 5000
    out["array:nan"] = np.full((50, 50, 3), np.nan, np.float32)
    out["array:empty"] = np.zeros((0, 0, 3), np.uint8)
    out["array:two_channels"] = np.zeros((40, 40, 2), np.uint8)
    out["array:1d"] = np.zeros(100, np.uint8)
    out["array:0d"] = np.array(3.0)
    out["array:4d"] = np.zeros((2, 10, 10, 3), np.uint8)
    out["array:negative"] = np.full((30, 30), -5, np.int16)
    out["array:bool"] = np.ones((30, 30), bool)
    out["array:uint16"] = rng.integers(0, 65535, (30, 30, 3), np.uint16)
    out["array:float_big"] = np.full((30, 30, 3), 1e9, np.float64)
    out["array:object"] = np.array([[object()]], dtype=object)
    out["array:complex"] = np.zeros((20, 20), np.complex64)
    out["array:huge_view"] = np.broadcast_to(np.uint8(0), (20_000, 20_000, 3))  # 1.2 GB if copied
    out["array:inf"] = np.full((20, 20), np.inf, np.float32)
    closed = Image.fromarray(noise)
    closed.close()
    out["pil:closed"] = closed
    out["pil:I;16"] = Image.fromarray(rng.integers(0, 65535, (40, 40), np.uint16))
    out["pil:F"] = Image.fromarray(rng.random((40, 40)).astype(np.float32))
    out["pil:P_transparent"] = Image.fromarray(noise).convert("P")
    out["pil:P_transparent"].info["transparency"] = 0
    out["pil:huge"] = Image.new("1", (12_500, 12_100))  # just over 150 Mpx: refused before conversion
    out["other:none"], out["other:int"], out["other:list"], out["other:dict"] = None, 7, [1, 2], {"a": 1}
    return out
