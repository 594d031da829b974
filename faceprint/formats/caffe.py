"""A reader for Caffe's ``.caffemodel`` files (a serialized ``NetParameter``), without Caffe or OpenCV.

OpenCV 5 dropped its Caffe importer, so faceprint reads the protobuf itself
(:mod:`faceprint.formats.protobuf`), with the field numbers of BVLC ``caffe.proto``. Only the
``layer`` (V2) records are read; V1 ``layers`` files (before 2015) are refused with a clear error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceprint.errors import FaceprintError
from faceprint.formats import protobuf as pb

# NetParameter
_NET_NAME, _NET_V1_LAYERS, _NET_LAYER = 1, 2, 100
# LayerParameter
_L_NAME, _L_TYPE, _L_BOTTOM, _L_TOP, _L_BLOBS = 1, 2, 3, 4, 7
_L_CONV, _L_ELTWISE, _L_IP, _L_PRELU = 106, 110, 117, 131
# BlobProto / BlobShape
_B_NUM, _B_CHANNELS, _B_HEIGHT, _B_WIDTH, _B_DATA, _B_SHAPE, _B_DOUBLE = 1, 2, 3, 4, 5, 7, 8


class CaffeFormatError(FaceprintError, ValueError):
    """A file that is not a readable Caffe model."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True)
class CaffeLayer:
    name: str
    type: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    blobs: tuple[np.ndarray, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaffeNet:
    name: str
    layers: tuple[CaffeLayer, ...]
    path: str | None = None

    def layer(self, name: str) -> CaffeLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise CaffeFormatError(f"no layer named {name!r} (layers: {', '.join(x.name for x in self.layers)})", self.path)


def _string(items: list[tuple[int, Any]] | None) -> str:
    return _strings(items[-1:])[0] if items else ""


def _strings(items: list[tuple[int, Any]] | None) -> tuple[str, ...]:
    return tuple(bytes(pb.payload(w, v, "a string")).decode("utf-8", "replace") for w, v in items or ())


def _sub(items: list[tuple[int, Any]], what: str) -> memoryview:
    """The last occurrence of a sub-message field (protobuf merges repeats; the layers here never repeat them)."""
    return pb.payload(*items[-1], what)


def _int(items: list[tuple[int, Any]] | None, default: int) -> int:
    return pb.repeated_ints(items)[-1] if items else default


def _blob(data: memoryview) -> np.ndarray:
    g = pb.group(data)
    if _B_SHAPE in g:
        shape = tuple(pb.repeated_ints(pb.group(_sub(g[_B_SHAPE], "a blob shape")).get(1, [])))
    else:  # before BlobShape: the 4-D num/channels/height/width fields
        shape = tuple(_int(g.get(f), 1) for f in (_B_NUM, _B_CHANNELS, _B_HEIGHT, _B_WIDTH))
    if _B_DOUBLE in g:
        chunks = [pb.payload(w, v, "double data") for w, v in g[_B_DOUBLE]]
        if any(len(c) % 8 for c in chunks):
            raise pb.ProtobufError("packed double data is not a multiple of 8 bytes")
        values = np.concatenate([np.frombuffer(c, "<f8") for c in chunks]).astype(np.float32)
    else:
        values = pb.repeated_floats(g.get(_B_DATA, []))
    if values.size != int(np.prod(shape)):
        raise pb.ProtobufError(f"blob of shape {shape} holds {values.size} values")
    return values.reshape(shape)


def _conv_params(data: memoryview) -> dict[str, Any]:
    g = pb.group(data)

    def pair(single: int, h: int, w: int, default: int) -> tuple[int, int]:
        if h in g or w in g:
            return _int(g.get(h), default), _int(g.get(w), default)
        values = pb.repeated_ints(g.get(single, [])) or [default]
        return (values[0], values[-1])

    return {
        "num_output": _int(g.get(1), 0),
        "bias_term": bool(_int(g.get(2), 1)),
        "pad": pair(3, 9, 10, 0),
        "kernel": pair(4, 11, 12, 0),
        "group": _int(g.get(5), 1),
        "stride": pair(6, 13, 14, 1),
        "dilation": tuple(pb.repeated_ints(g.get(18, [])) or [1]),
    }


def _layer(data: memoryview) -> CaffeLayer:
    g = pb.group(data)
    kind = _string(g.get(_L_TYPE))
    params: dict[str, Any] = {}
    if kind == "Convolution" and _L_CONV in g:
        params = _conv_params(_sub(g[_L_CONV], "convolution_param"))
    elif kind == "InnerProduct" and _L_IP in g:
        ip = pb.group(_sub(g[_L_IP], "inner_product_param"))
        params = {"num_output": _int(ip.get(1), 0), "bias_term": bool(_int(ip.get(2), 1)),
                  "axis": _int(ip.get(5), 1), "transpose": bool(_int(ip.get(6), 0))}  # fmt: skip
    elif kind == "PReLU":
        prelu = pb.group(_sub(g[_L_PRELU], "prelu_param")) if _L_PRELU in g else {}
        params = {"channel_shared": bool(_int(prelu.get(2), 0))}
    elif kind == "Eltwise":
        el = pb.group(_sub(g[_L_ELTWISE], "eltwise_param")) if _L_ELTWISE in g else {}
        coeff = pb.repeated_floats(el.get(2, [])) if el.get(2) else np.empty(0, np.float32)
        params = {"operation": ("PROD", "SUM", "MAX")[_int(el.get(1), 1)], "coeff": tuple(float(c) for c in coeff)}
    return CaffeLayer(
        name=_string(g.get(_L_NAME)), type=kind, bottoms=_strings(g.get(_L_BOTTOM)), tops=_strings(g.get(_L_TOP)),
        blobs=tuple(_blob(pb.payload(w, v, "a blob")) for w, v in g.get(_L_BLOBS, [])), params=params,
    )  # fmt: skip


def parse_caffemodel(data: bytes, path: str | None = None) -> CaffeNet:
    """Parse the bytes of a ``.caffemodel`` (or a binary ``NetParameter``)."""
    if data[:1] in (b"<", b"{") or data[:5].lower() in (b"name:", b"layer", b"input"):
        raise CaffeFormatError("this is text (HTML, JSON or a .prototxt), not a binary .caffemodel", path)
    try:
        g = pb.group(data)
        if _NET_V1_LAYERS in g and _NET_LAYER not in g:
            raise CaffeFormatError("old V1 'layers' format: upgrade it with Caffe's upgrade_net_proto_binary", path)
        layers = tuple(_layer(pb.payload(w, v, "a layer")) for w, v in g.get(_NET_LAYER, []))
    except (pb.ProtobufError, IndexError, ValueError) as exc:  # IndexError/ValueError: enum or shape out of range
        raise CaffeFormatError(f"not a readable Caffe model ({exc})", path) from exc
    if not layers:
        raise CaffeFormatError("no layers found; not a Caffe model", path)
    return CaffeNet(_string(g.get(_NET_NAME)), layers, path)


def read_caffemodel(path: str | os.PathLike[str]) -> CaffeNet:
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CaffeFormatError(f"cannot read: {exc.strerror or exc}", p) from exc
    return parse_caffemodel(data, p)
