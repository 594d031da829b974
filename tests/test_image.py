"""Image loading: every input kind, and a bad-input corpus generated here."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceprint.errors import (
    FaceprintError,
    ImageDecodeError,
    ImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    UnsupportedImageError,
)
from faceprint.image import load_image


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _pattern() -> np.ndarray:
    """A 40x60 RGB image whose left half is red and right half is blue."""
    arr = np.zeros((40, 60, 3), np.uint8)
    arr[:, :30] = (255, 0, 0)
    arr[:, 30:] = (0, 0, 255)
    return arr


def test_path_str_bytes_base64_datauri_pil_all_agree(tmp_path: Path) -> None:
    rgb = _pattern()
    data = _png_bytes(Image.fromarray(rgb))
    path = tmp_path / "p.png"
    path.write_bytes(data)
    b64 = base64.b64encode(data).decode()
    inputs = [str(path), path, data, bytearray(data), b64, "data:image/png;base64," + b64, Image.fromarray(rgb)]
    expected = rgb[:, :, ::-1]  # BGR
    for inp in inputs:
        img = load_image(inp)
        assert img.pixels.dtype == np.uint8 and img.pixels.shape == (40, 60, 3)
        np.testing.assert_array_equal(img.pixels, expected, err_msg=str(type(inp)))


def test_numpy_is_bgr_unless_rgb_flag() -> None:
    rgb = _pattern()
    np.testing.assert_array_equal(load_image(rgb).pixels, rgb)  # taken as BGR as given
    np.testing.assert_array_equal(load_image(rgb, rgb=True).pixels, rgb[:, :, ::-1])


@pytest.mark.parametrize(
    ("arr", "expect"),
    [
        (np.full((5, 5), 128, np.uint8), 128),
        (np.full((5, 5, 1), 77, np.uint8), 77),
        (np.full((5, 5, 4), 200, np.uint8), 200),
        (np.full((5, 5, 3), 0.5, np.float32), 128),
        (np.full((5, 5, 3), 65535, np.uint16), 255),
        (np.full((5, 5, 3), 32896, np.uint16), 128),
        (np.ones((5, 5), bool), 255),
    ],
)
def test_array_layouts_and_dtypes(arr: np.ndarray, expect: int) -> None:
    out = load_image(arr).pixels
    assert out.shape == (5, 5, 3) and out.dtype == np.uint8
    assert int(out[2, 2, 0]) == expect


def test_greyscale_rgba_palette_cmyk_16bit(tmp_path: Path) -> None:
    rgb = _pattern()
    pil = Image.fromarray(rgb)
    cases = {
        "grey.png": pil.convert("L"),
        "rgba.png": pil.convert("RGBA"),
        "palette.png": pil.convert("P"),
        "cmyk.jpg": pil.convert("CMYK"),
        "grey16.png": Image.fromarray(np.asarray(pil.convert("L")).astype(np.uint16) * 257),
    }
    for name, im in cases.items():
        path = tmp_path / name
        im.save(path)
        out = load_image(path).pixels
        assert out.shape == (40, 60, 3) and out.dtype == np.uint8, name
        if name in ("rgba.png", "palette.png"):
            np.testing.assert_array_equal(out, rgb[:, :, ::-1], err_msg=name)
        if name == "cmyk.jpg":  # lossy, but red stays red and blue stays blue
            assert out[20, 10, 2] > 200 and out[20, 10, 0] < 60, out[20, 10]
            assert out[20, 50, 0] > 200 and out[20, 50, 2] < 60, out[20, 50]
        if name == "grey16.png":  # 16-bit values scaled, not clipped
            expected = np.asarray(pil.convert("L"))
            np.testing.assert_array_equal(out[:, :, 0], expected)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_block_wise_conversion_is_exact(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import faceprint.image as image

    monkeypatch.setattr(image, "_BLOCK_PIXELS", 1000)  # 333 rows of 200 pixels: 67 blocks, the last one short
    arr = np.random.default_rng(4).integers(0, 256, (333, 200, 3), dtype=np.uint8)
    pil = Image.fromarray(arr).convert(mode)
    np.testing.assert_array_equal(load_image(pil).pixels, np.asarray(pil.convert("RGB"))[:, :, ::-1])


def test_16bit_rgb_png(tmp_path: Path) -> None:
    """A 48-bit RGB PNG written by hand (PIL cannot write one)."""
    h, w = 4, 6
    rows = b"".join(b"\x00" + struct.pack(">" + "H" * (w * 3), *([65535, 0, 32896] * w)) for _ in range(h))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    out = load_image(png).pixels
    assert out.shape == (h, w, 3)
    b, g, r = (int(v) for v in out[1, 1])
    assert r == 255 and g == 0 and abs(b - 128) <= 1


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    rgb = _pattern()  # 40 high, 60 wide; red left, blue right
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(rgb, k=1)))  # stored rotated: 60 high, 40 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # display = rotate 90° clockwise
    path = tmp_path / "rot.jpg"
    stored.save(path, exif=exif, quality=95)
    out = load_image(path).pixels
    assert out.shape == (40, 60, 3)
    assert out[20, 5, 2] > 200 and out[20, 55, 0] > 200  # red on the left, blue on the right again


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda p: p.write_bytes(b""), ImageDecodeError),
        (lambda p: p.write_text("this is not an image, just text\n" * 10), ImageDecodeError),
        (lambda p: p.write_bytes(_truncated_jpeg()), ImageDecodeError),
        (lambda p: p.write_bytes(_huge_png_header()), ImageTooLargeError),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50), ImageDecodeError),
    ],
    ids=["zero-bytes", "text-named-jpg", "truncated-jpeg", "huge-dimensions", "garbage-png"],
)
def test_bad_files_raise_typed_errors_naming_the_file(tmp_path: Path, make, error) -> None:
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(error) as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ImageError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, FaceprintError)


def test_missing_file_directory_and_wrong_types(tmp_path: Path) -> None:
    with pytest.raises(ImageNotFoundError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(FileNotFoundError):
        load_image(str(tmp_path / "nope.jpg"))
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)
    with pytest.raises(UnsupportedImageError):
        load_image(12345)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedImageError):
        load_image(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(UnsupportedImageError, match="shape"):
        load_image(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(UnsupportedImageError, match="NaN"):
        load_image(np.full((4, 4), np.nan))
    with pytest.raises(UnsupportedImageError, match="URL"):
        load_image("https://example.com/a.jpg")


def test_max_pixels_limit() -> None:
    data = _png_bytes(Image.new("RGB", (100, 100)))
    with pytest.raises(ImageTooLargeError, match="10,000 pixels"):
        load_image(data, max_pixels=5000)
    assert load_image(data, max_pixels=10_000).width == 100


def _truncated_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(buf, format="JPEG")
    data = buf.getvalue()
    return data[: len(data) // 2]


def _huge_png_header() -> bytes:
    """A valid PNG header claiming 100,000 x 100,000 pixels (10 gigapixels)."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    )
