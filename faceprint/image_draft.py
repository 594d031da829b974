"""Reduced-size JPEG decoding: a large photo decoded straight to about the size the detector uses.

libjpeg scales while decoding (by 1/2, 1/4 or 1/8, in the DCT domain), which costs a fraction of a
full decode followed by a resize. :func:`load_reduced` gives such a copy for JPEG paths and bytes
(any other input: ``None``, the caller decodes in full); the pipeline detects on it and, when
every face is large enough in it, aligns from it too (see :meth:`faceprint.pipeline.Pipeline`).
Kept apart from :mod:`faceprint.image` on purpose; the size limits of that module apply here too.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceprint.files import read_regular
from faceprint.image import DEFAULT_MAX_PIXELS, LoadedImage, _from_pil

_JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class ReducedImage:
    """A decoded copy ``factor`` times smaller than the image (``factor`` in 2, 4, 8), and the encoded bytes."""

    image: LoadedImage
    factor: float
    data: bytes
    full_size: tuple[int, int]  # (width, height) of the full image, orientation applied


def encoded_jpeg(image: object) -> tuple[bytes, str] | None:
    """(bytes, source name) of a JPEG given as a path or bytes; None for every other input."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data, source = bytes(image), "<bytes>"
    elif isinstance(image, (str, os.PathLike)):
        path = Path(image)
        try:
            if path.suffix.lower() not in (".jpg", ".jpeg", ".jfif") or not path.is_file():
                return None
            data = read_regular(path)  # regular files only: a FIFO named *.jpg never blocks
        except (OSError, ValueError):  # ImageError is a ValueError
            return None  # the full loader reports the problem
        source = str(path)
    else:
        return None
    return (data, source) if data.startswith(_JPEG_MAGIC) else None


def load_reduced(image: object, min_long_side: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ReducedImage | None:
    """A copy of a JPEG decoded at 1/2, 1/4 or 1/8 whose long side is still >= ``min_long_side``.

    None when the input is not a JPEG path or bytes, is small enough already, or anything about it
    is unusual (the caller then decodes it in full, which also reports errors).
    """
    found = encoded_jpeg(image)
    if found is None:
        return None
    data, source = found
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > max_pixels or max(w, h) < 2 * min_long_side or img.mode not in ("RGB", "L"):
            return None
        k = max(w, h) / min_long_side
        want = (int(np.ceil(w / k)), int(np.ceil(h / k)))
        img.draft(img.mode, want)  # libjpeg picks the largest reduction that keeps >= want
        if img.size == (w, h):
            return None
        factor = w / img.size[0]
        stored = img.size
        img.load()
        img = ImageOps.exif_transpose(img)
    except Exception:  # any oddity: decode in full, which raises the typed error
        return None
    full = (h, w) if img.size != stored else (w, h)  # EXIF rotated it by 90 degrees
    return ReducedImage(LoadedImage(_from_pil(img, source), source), factor, data, full)
