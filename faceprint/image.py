"""Image loading: every supported input becomes an 8-bit BGR array (OpenCV's channel order).

Accepted inputs: a file path (``str`` or ``pathlib.Path``), raw encoded bytes, a base64 string or
``data:`` URI, a numpy array, or a PIL image. Numpy arrays are taken as BGR, like OpenCV
(``cv2.imread``) gives them; pass ``rgb=True`` for RGB arrays (e.g. from PIL or matplotlib).
EXIF orientation is applied. Greyscale, alpha, palette, 16-bit, float and CMYK inputs are converted.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from faceprint.errors import (
    ConfigError,
    ImageDecodeError,
    ImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    UnsupportedImageError,
)

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, "PILImage"]

#: Largest image accepted by default (pixels). About 12,000 x 12,500; pass ``max_pixels`` to change.
DEFAULT_MAX_PIXELS = 150_000_000

_DATA_URI = re.compile(r"^data:image/[\w.+-]+;base64,", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """Decoded pixels (H, W, 3) uint8 BGR, and a short name of where they came from."""

    pixels: np.ndarray
    source: str

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


def load_image(
    image: ImageInput | LoadedImage,
    *,
    rgb: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> LoadedImage:
    """Decode any supported input into a :class:`LoadedImage` (BGR uint8)."""
    if isinstance(image, LoadedImage):
        return image
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ConfigError(f"max_pixels must be a positive whole number of pixels, not {max_pixels!r}")
    if isinstance(image, np.ndarray):
        if image.ndim >= 2:
            _check_size(int(image.shape[1]), int(image.shape[0]), max_pixels, "<array>")
        return LoadedImage(_from_array(image, rgb=rgb, source="<array>"), "<array>")
    if isinstance(image, (bytes, bytearray, memoryview)):
        return LoadedImage(_decode_bytes(bytes(image), "<bytes>", max_pixels), "<bytes>")
    if isinstance(image, os.PathLike):
        return _load_path(Path(image), max_pixels)
    if isinstance(image, str):
        return _load_string(image, max_pixels)
    if _is_pil(image):
        _check_size(*image.size, max_pixels, "<PIL image>")
        try:
            return LoadedImage(_from_pil(image, "<PIL image>"), "<PIL image>")
        except (ValueError, OSError) as exc:  # e.g. "Operation on closed image"
            if isinstance(exc, ImageError):
                raise
            raise ImageDecodeError(f"the PIL image cannot be read ({exc}); pass an open image", source="<PIL image>") from None
    raise UnsupportedImageError(
        f"unsupported image input of type {type(image).__name__}; pass a file path, bytes, "
        "a base64 string, a numpy array or a PIL image",
        source=f"<{type(image).__name__}>",
    )


def _load_string(text: str, max_pixels: int) -> LoadedImage:
    stripped = text.strip()
    if _DATA_URI.match(stripped):
        payload = stripped.split(",", 1)[1]
        return LoadedImage(_decode_bytes(_b64(payload, "<data URI>"), "<data URI>", max_pixels), "<data URI>")
    if stripped.lower().startswith(("http://", "https://")):
        raise UnsupportedImageError(
            "URLs are not fetched; download the image and pass its path or bytes", source=stripped[:80]
        )
    if text == "":
        raise ImageNotFoundError("empty path; pass a file path, bytes, an array or a PIL image", source="''")
    path = Path(text)
    try:
        is_path = os.path.lexists(path)
    except (OSError, ValueError):  # name too long or NUL byte: not a path
        is_path = False
    if is_path:
        return _load_path(path, max_pixels)
    if stripped.lower().startswith("data:"):
        kind = stripped[5:].split(",", 1)[0].split(";", 1)[0] or "unknown"
        raise UnsupportedImageError(f"a data: URI of type {kind!r} is not an image; expected data:image/...;base64,",
                                    source=stripped[:40])  # fmt: skip
    if len(stripped) > 64 and _BASE64.match(stripped):
        return LoadedImage(_decode_bytes(_b64(stripped, "<base64>"), "<base64>", max_pixels), "<base64>")
    raise ImageNotFoundError("no such file (and not a base64 image)", source=text[:200])


def _b64(payload: str, source: str) -> bytes:
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageDecodeError(f"invalid base64 data ({exc})", source=source) from None


def _load_path(path: Path, max_pixels: int) -> LoadedImage:
    from faceprint.files import read_regular

    data = read_regular(path)  # regular files only: a FIFO named *.jpg never hangs
    return LoadedImage(_decode_bytes(data, str(path), max_pixels), str(path))


def _decode_bytes(data: bytes, source: str, max_pixels: int) -> np.ndarray:
    from PIL import Image, ImageOps

    if not data:
        raise ImageDecodeError("empty input (0 bytes)", source=source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        _check_size(*img.size, max_pixels, source)  # from the header, before any pixel is decoded
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # no second full copy when nothing needs turning
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image is too large to decode safely ({exc})", source=source) from None
    except Image.UnidentifiedImageError:
        kind = "text" if _looks_like_text(data) else "data"
        raise ImageDecodeError(
            f"not a recognised image format ({len(data):,} bytes of {kind}); "
            "supported: JPEG, PNG, BMP, GIF, TIFF, WebP and others PIL reads",
            source=source,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"corrupt or truncated image ({exc})", source=source) from None
    try:
        bgr = _pil_bgr(img)
        if bgr is not None:
            return bgr
        arr = _pil_array(img)
    except (OSError, ValueError) as exc:
        raise ImageDecodeError(f"corrupt or truncated image ({exc})", source=source) from None
    img.close()
    del img
    return _from_array(arr, rgb=True, source=source)


def _check_size(width: int, height: int, max_pixels: int, source: str) -> None:
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,}; "
            "downscale it or pass a larger max_pixels",
            source=source,
        )


#: Pixels converted per step in :func:`_pil_bgr` (bounded extra memory, whatever the image size).
_BLOCK_PIXELS = 1 << 20


def _pil_bgr(img: PILImage) -> np.ndarray | None:
    """8-bit BGR pixels of an 8-bit-per-channel ``img``, converted a block of rows at a time straight into
    the output: the only full-size allocation is the result (no converted PIL copy, no ``tobytes``
    buffer twice the size, no separate channel flip). None for 16-bit and float modes."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return None
    import cv2

    width, height = img.size
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _BLOCK_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        block = img if rows >= height else img.crop((0, top, width, min(top + rows, height)))
        if block.mode not in ("RGB", "L"):
            block = block.convert("RGB")  # palette, alpha, CMYK, YCbCr, LAB, 1-bit ...
        part = np.asarray(block)
        # OpenCV writes into the output's rows (a contiguous view): 3x faster than numpy's channel flip
        dst = out[top : top + part.shape[0]]
        try:
            done = cv2.cvtColor(part, cv2.COLOR_GRAY2BGR if part.ndim == 2 else cv2.COLOR_RGB2BGR, dst=dst)
        except cv2.error as exc:
            raise ValueError(f"pixel conversion failed ({exc})") from None
        if done is not dst:  # OpenCV made a new array instead
            dst[...] = done
    return out


def _pil_array(img: PILImage) -> np.ndarray:
    """The pixels of ``img`` as an RGB, grey or 16-bit array, holding no converted PIL copy afterwards."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F", "RGB", "L"):
        return np.asarray(img)
    converted = img.convert("RGB")  # palette, alpha, CMYK, YCbCr, LAB, 1-bit ...
    try:
        return np.asarray(converted)
    finally:
        converted.close()


def _looks_like_text(data: bytes) -> bool:
    head = data[:512]
    return all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def _is_pil(obj: Any) -> bool:
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "mode") and hasattr(obj, "size")


def _from_pil(img: PILImage, source: str) -> np.ndarray:
    bgr = _pil_bgr(img)
    return bgr if bgr is not None else _from_array(_pil_array(img), rgb=True, source=source)


def _from_array(arr: np.ndarray, *, rgb: bool, source: str) -> np.ndarray:
    if arr.size == 0:
        raise UnsupportedImageError(f"empty array of shape {arr.shape}", source=source)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise UnsupportedImageError(
            f"array of shape {arr.shape} is not an image; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)",
            source=source,
        )
    arr = _to_uint8(arr, source)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    arr = arr[:, :, :3]
    if rgb:
        arr = arr[:, :, ::-1]
    return np.ascontiguousarray(arr)


def _to_uint8(arr: np.ndarray, source: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        hi = int(arr.max()) if arr.size else 0
        if arr.min() < 0:
            raise UnsupportedImageError(f"negative pixel values in a {arr.dtype} array", source=source)
        if hi <= 255:
            return arr.astype(np.uint8)
        if hi <= 65535:  # 16-bit data
            return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
        raise UnsupportedImageError(f"{arr.dtype} values up to {hi} do not fit 8 or 16 bits", source=source)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise UnsupportedImageError("array holds NaN or infinite values", source=source)
        scale = 255.0 if float(arr.max()) <= 1.0 else 1.0
        return np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8)
    raise UnsupportedImageError(f"unsupported array dtype {arr.dtype}", source=source)


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")


def iter_images(folder: str | os.PathLike, *, recursive: bool = True) -> Iterator[Path]:
    """Image files under ``folder`` by extension, in sorted order, found lazily (no listing held in memory).

    Regular files only, each once: symlinks to folders are not followed (no loops); special files,
    broken links and hidden names are left out (``faceprint.files.walk`` reports why)."""
    from faceprint.files import walk

    root = Path(folder)
    if not root.is_dir():
        raise ImageNotFoundError("not a folder of images", source=str(root))
    return (p for p, why in walk(root, IMAGE_EXTENSIONS, recursive=recursive) if why is None)
