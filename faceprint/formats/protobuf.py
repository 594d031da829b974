"""The Protocol Buffers wire format, both ways, without generated code or the protobuf package.

Enough for model files: faceprint writes ONNX graphs (:mod:`faceprint.formats.onnx_graph`) and reads
Caffe ``.caffemodel`` files with it. Field numbers live with the code that uses them.

Wire types: 0 varint, 1 fixed64, 2 length-delimited (bytes, strings, sub-messages, packed
arrays), 5 fixed32.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

import numpy as np

from faceprint.errors import FaceprintError

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


class ProtobufError(FaceprintError, ValueError):
    """Bytes that are not a well-formed protobuf message."""


# -- writing --------------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as 64-bit two's complement (10 bytes), as protobuf does."""
    if not -(1 << 63) <= value < 1 << 64:
        raise ValueError(f"{value} does not fit a 64-bit varint")
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def int_field(field: int, value: int) -> bytes:
    return key(field, VARINT) + varint(int(value))


def float_field(field: int, value: float) -> bytes:
    return key(field, FIXED32) + struct.pack("<f", value)


def bytes_field(field: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else bytes(value)
    return key(field, LEN) + varint(len(data)) + data


def packed_ints(field: int, values: Iterable[int]) -> bytes:
    return bytes_field(field, b"".join(varint(int(v)) for v in values))


def packed_floats(field: int, values: np.ndarray) -> bytes:
    return bytes_field(field, np.ascontiguousarray(values, dtype="<f4").tobytes())


def message(*parts: bytes | Iterable[bytes]) -> bytes:
    """Concatenate encoded fields (nested iterables are flattened one level)."""
    out = bytearray()
    for part in parts:
        if isinstance(part, bytes | bytearray):
            out += part
        else:
            for p in part:
                out += p
    return bytes(out)


# -- reading --------------------------------------------------------------------------------------


def _read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("message ends inside a varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field in order: ints for varints and fixed
    widths (as unsigned raw bits), memoryviews for length-delimited payloads (no copy)."""
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        tag, pos = _read_varint(view, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ProtobufError(f"field number 0 at byte {pos}")
        value: int | memoryview
        if wire == VARINT:
            value, pos = _read_varint(view, pos)
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            if pos + width > len(view):
                raise ProtobufError("message ends inside a fixed-width field")
            value = int.from_bytes(view[pos : pos + width], "little")
            pos += width
        elif wire == LEN:
            length, pos = _read_varint(view, pos)
            if pos + length > len(view):
                raise ProtobufError(f"field {number} claims {length} bytes, {len(view) - pos} remain")
            value = view[pos : pos + length]
            pos += length
        else:
            raise ProtobufError(f"unsupported wire type {wire} (field {number})")
        yield number, wire, value


def payload(wire: int, value: int | memoryview, what: str) -> memoryview:
    """The bytes of a length-delimited field; a field of another wire type there is malformed."""
    if wire != LEN or not isinstance(value, memoryview):
        raise ProtobufError(f"{what} has wire type {wire}, expected length-delimited")
    return value


def signed(raw: int) -> int:
    """A varint read as int32/int64 (two's complement)."""
    return raw - (1 << 64) if raw >= 1 << 63 else raw


def as_float(raw: int) -> float:
    """A fixed32 field's bits as a float."""
    return struct.unpack("<f", raw.to_bytes(4, "little"))[0]


def repeated_ints(items: list[tuple[int, int | memoryview]]) -> list[int]:
    """Values of a repeated integer field, packed or not (parsers must accept both)."""
    out: list[int] = []
    for wire, value in items:
        if wire == LEN:
            view, pos = value, 0
            while pos < len(view):  # type: ignore[arg-type]
                v, pos = _read_varint(view, pos)  # type: ignore[arg-type]
                out.append(signed(v))
        else:
            out.append(signed(int(value)))  # type: ignore[arg-type]
    return out


def repeated_floats(items: list[tuple[int, int | memoryview]]) -> np.ndarray:
    """Values of a repeated float field, packed (one array) or one fixed32 per value."""
    chunks: list[np.ndarray] = []
    for wire, value in items:
        if wire == LEN:
            if len(value) % 4:  # type: ignore[arg-type]
                raise ProtobufError(f"packed float field of {len(value)} bytes is not a multiple of 4")  # type: ignore[arg-type]
            chunks.append(np.frombuffer(value, dtype="<f4"))  # type: ignore[arg-type]
        elif wire == FIXED32:
            chunks.append(np.array([as_float(int(value))], dtype="<f4"))  # type: ignore[arg-type]
        else:
            raise ProtobufError(f"float field with wire type {wire}")
    return np.concatenate(chunks).astype(np.float32) if chunks else np.empty(0, np.float32)


def group(data: bytes | memoryview) -> dict[int, list[tuple[int, int | memoryview]]]:
    """All fields of a message, by number: ``{number: [(wire type, value), ...]}``."""
    out: dict[int, list[tuple[int, int | memoryview]]] = {}
    for number, wire, value in fields(data):
        out.setdefault(number, []).append((wire, value))
    return out
