"""A reader for dlib's binary ``serialize`` format, enough for its face recognition ResNet.

dlib writes a network type-driven: the file records no layer IDs, so the reader walks a
known layout (:data:`RESNET_V1_LAYOUT`) and checks every record against it. Primitives:

* integers: one header byte (bit 7: negative, low 4 bits: byte count), then that many bytes, little-endian;
* reals: ``float_details``, an int64 mantissa and an int16 exponent, value = mantissa * 2**exponent;
* strings: an integer length, then the bytes; bools: the characters ``'1'`` / ``'0'``;
* tensors: version, (num_samples, k, nr, nc), then the values (v2: raw float32 LE, v1: reals).

Nested layers are written outside-in (each wrapper's version first), then their details
inside-out, so the first details record in the file belongs to the layer next to the input.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceprint.errors import FaceprintError

__all__ = [
    "RESNET_V1_LAYOUT",
    "DlibFormatError",
    "DlibNet",
    "Layer",
    "Reader",
    "read_net",
    "resnet_v1_layout",
]


class DlibFormatError(FaceprintError, ValueError):
    """A dlib model file is truncated, corrupt, or not the network it was read as."""

    def __init__(self, message: str, path: str | None = None, offset: int | None = None) -> None:
        self.path = path
        self.offset = offset
        where = f"{path or '<bytes>'}" + (f" at byte {offset}" if offset is not None else "")
        super().__init__(f"{where}: {message}")


# float_details marks non-finite values with these exponents (dlib/float_details.h).
_SPECIAL_EXPONENTS = {32000: math.inf, 32001: -math.inf, 32002: math.nan}


class Reader:
    """Sequential decoder of dlib primitives over an in-memory buffer."""

    def __init__(self, data: bytes, path: str | None = None) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.path = path

    def error(self, message: str, offset: int | None = None) -> DlibFormatError:
        return DlibFormatError(message, self.path, self.pos if offset is None else offset)

    def _take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.error(f"file ends while reading {what} ({n} bytes wanted, {len(self.data) - self.pos} left)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    @property
    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def varint(self, nbytes: int = 8, *, signed: bool = True, what: str = "an integer") -> int:
        """One integer of a C++ type ``nbytes`` wide, in dlib's variable-length encoding."""
        start = self.pos
        head = self._take(1, what)[0]
        size = head & 0x0F
        if size > nbytes:
            raise self.error(f"{what}: {size}-byte integer where at most {nbytes} bytes fit", start)
        value = int.from_bytes(self._take(size, what), "little") if size else 0
        if head & 0x80:
            if not signed:
                raise self.error(f"{what}: negative value for an unsigned integer", start)
            value = -value
        return value

    def uvarint(self, nbytes: int = 8, what: str = "an unsigned integer") -> int:
        return self.varint(nbytes, signed=False, what=what)

    def real(self, what: str = "a real number") -> float:
        """One ``float_details`` value (how dlib serializes float and double)."""
        mantissa = self.varint(8, what=what)
        exponent = self.varint(2, what=what)
        if exponent in _SPECIAL_EXPONENTS:
            return _SPECIAL_EXPONENTS[exponent]
        try:
            return math.ldexp(float(mantissa), exponent)
        except OverflowError as exc:
            raise self.error(f"{what}: {mantissa} * 2**{exponent} overflows") from exc

    def string(self, max_len: int = 1 << 16, what: str = "a string") -> str:
        start = self.pos
        n = self.uvarint(what=what)
        if n > max_len:
            raise self.error(f"{what}: string length {n} is implausible", start)
        raw = bytes(self._take(n, what))
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise self.error(f"{what}: not ASCII text: {raw[:32]!r}", start) from exc

    def flag(self, what: str = "a bool") -> bool:
        start = self.pos
        ch = bytes(self._take(1, what))
        if ch not in (b"0", b"1"):
            raise self.error(f"{what}: expected '0' or '1', got {ch!r}", start)
        return ch == b"1"

    def shape(self, what: str) -> tuple[int, int, int, int]:
        return tuple(self.varint(8, what=what) for _ in range(4))  # type: ignore[return-value]

    def tensor(self, what: str = "a tensor") -> np.ndarray:
        """A ``resizable_tensor`` as float32 (num_samples, k, nr, nc)."""
        start = self.pos
        version = self.varint(4, what=what)
        shape = self.shape(what)
        if any(d < 0 for d in shape):
            raise self.error(f"{what}: negative dimension in {shape}", start)
        count = math.prod(shape)
        if version == 2:  # raw little-endian IEEE floats
            raw = self._take(4 * count, what)
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif version == 1:  # one float_details per value, as very old dlib wrote them
            values = np.array([self.real(what) for _ in range(count)], dtype=np.float32)
        else:
            raise self.error(f"{what}: unknown tensor version {version}", start)
        return values.reshape(shape)

    def alias_shape(self, what: str) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: only a shape; its values live in the layer's params tensor."""
        start = self.pos
        version = self.varint(4, what=what)
        if version != 1:
            raise self.error(f"{what}: unknown alias_tensor version {version}", start)
        return self.shape(what)

    def expect_string(self, *allowed: str, what: str) -> str:
        start = self.pos
        got = self.string(what=what)
        if got not in allowed:
            raise self.error(f"expected {what} record {' or '.join(map(repr, allowed))}, found {got!r}", start)
        return got


@dataclass(frozen=True)
class Layer:
    """One layer, input side first. ``kind``: input, con, affine, relu, max_pool, avg_pool, fc,
    add_prev, tag, skip or loss_metric; ``params`` holds its arrays and settings."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DlibNet:
    """A parsed network: ``layers`` run in order from the input layer to the loss layer."""

    path: str | None
    layers: tuple[Layer, ...]

    @property
    def input(self) -> Layer:
        return self.layers[0]

    def of_kind(self, kind: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.kind == kind]


def _split(r: Reader, params: np.ndarray, shapes: list[tuple[int, int, int, int]], what: str) -> list[np.ndarray]:
    """Cut a layer's flat params tensor into the alias tensors that view it, in order."""
    flat = params.reshape(-1)
    need = sum(math.prod(s) for s in shapes)
    if need != flat.size:
        raise r.error(f"{what}: params hold {flat.size} values but its views need {need}")
    out, at = [], 0
    for s in shapes:
        n = math.prod(s)
        out.append(flat[at : at + n].reshape(s))
        at += n
    return out


def _read_con(r: Reader, version: str) -> Layer:
    params = r.tensor("con params")
    num_filters = r.varint(8, what="con num_filters")
    nr, nc, stride_y, stride_x = (r.varint(8, what="con geometry") for _ in range(4))
    pad_y, pad_x = r.varint(8, what="con padding"), r.varint(8, what="con padding")
    fshape, bshape = r.alias_shape("con filters"), r.alias_shape("con biases")
    for _ in range(4):  # learning-rate and weight-decay multipliers: training only
        r.real("con multiplier")
    use_bias = r.flag("con use_bias") if version == "con_5" else True
    if fshape != (num_filters, fshape[1], nr, nc):
        raise r.error(f"con filters {fshape} do not match {num_filters} filters of {nr}x{nc}")
    filters, biases = _split(r, params, [fshape, bshape], "con")
    if use_bias and biases.size != num_filters:
        raise r.error(f"con has {biases.size} biases for {num_filters} filters")
    return Layer(
        "con",
        {
            "filters": filters,
            "biases": biases.reshape(-1) if use_bias and biases.size else None,
            "stride": (stride_y, stride_x),
            "padding": (pad_y, pad_x),
        },
    )


def _read_affine(r: Reader) -> Layer:
    params = r.tensor("affine params")
    gshape, bshape = r.alias_shape("affine gamma"), r.alias_shape("affine beta")
    mode = r.varint(4, what="affine mode")
    gamma, beta = _split(r, params, [gshape, bshape], "affine")
    if mode != 0:  # 0 = CONV_MODE (one gamma/beta per channel); FC_MODE has one per value
        raise r.error(f"affine mode {mode} (per-value) is not supported; expected per-channel (0)")
    return Layer("affine", {"gamma": gamma.reshape(-1), "beta": beta.reshape(-1)})


def _read_pool(r: Reader, kind: str) -> Layer:
    nr, nc, stride_y, stride_x = (r.varint(8, what=f"{kind} geometry") for _ in range(4))
    pad_y, pad_x = r.varint(8, what=f"{kind} padding"), r.varint(8, what=f"{kind} padding")
    # a zero window size means "the whole input" (avg_pool_everything / max_pool_everything)
    return Layer(kind, {"window": (nr, nc), "stride": (stride_y, stride_x), "padding": (pad_y, pad_x)})


def _read_fc(r: Reader) -> Layer:
    num_outputs = r.uvarint(8, "fc num_outputs")
    num_inputs = r.uvarint(8, "fc num_inputs")
    params = r.tensor("fc params")
    wshape, bshape = r.alias_shape("fc weights"), r.alias_shape("fc biases")
    bias_mode = r.varint(4, what="fc bias mode")
    for _ in range(4):
        r.real("fc multiplier")
    weights, biases = _split(r, params, [wshape, bshape], "fc")
    if weights.size != num_inputs * num_outputs:
        raise r.error(f"fc weights {wshape} are not {num_inputs}x{num_outputs}")
    # dlib computes output = input @ W with W stored (num_inputs, num_outputs), row-major
    has_bias = bias_mode == 0
    return Layer(
        "fc",
        {
            "weights": weights.reshape(num_inputs, num_outputs),
            "biases": biases.reshape(-1) if has_bias else None,
        },
    )


def _read_input(r: Reader) -> Layer:
    kind = r.expect_string("input_rgb_image_sized", "input_rgb_image", what="input layer")
    avg = tuple(r.real("input channel mean") for _ in range(3))
    size = (r.varint(8, what="input rows"), r.varint(8, what="input columns")) if kind.endswith("_sized") else None
    return Layer("input", {"mean_rgb": avg, "size": size, "scale": 1 / 256})  # dlib divides by 256, not 255


def _read_loss(r: Reader) -> Layer:
    r.expect_string("loss_metric_2", what="loss layer")
    return Layer("loss_metric", {"margin": r.real("loss margin"), "distance_threshold": r.real("loss threshold")})


def _read_details(r: Reader, expected: str) -> Layer:
    """The details record of one computational layer, checked against the layout's ``expected`` kind."""
    names = {
        "con": ("con_4", "con_5"),
        "affine": ("affine_",),
        "relu": ("relu_",),
        "max_pool": ("max_pool_2",),
        "avg_pool": ("avg_pool_2",),
        "fc": ("fc_2",),
        "add_prev": ("add_prev_",),
    }
    base, _, tag = expected.partition(":")
    if base not in names:
        raise DlibFormatError(f"layout names unknown layer kind {expected!r}", r.path)
    version = r.expect_string(*names[base], what=base)
    if base == "con":
        return _read_con(r, version)
    if base == "affine":
        return _read_affine(r)
    if base in ("max_pool", "avg_pool"):
        return _read_pool(r, base)
    if base == "fc":
        return _read_fc(r)
    if base == "add_prev":
        return Layer("add_prev", {"tag": int(tag)})
    return Layer(base)


def _read_trailer(r: Reader) -> None:
    """What every ``add_layer`` writes after its details: 3 state flags and 3 work tensors (usually empty)."""
    for _ in range(3):
        r.flag("layer state flag")
    for _ in range(3):
        r.tensor("layer work tensor")


def resnet_v1_layout() -> tuple[str, ...]:
    """Layer tokens of dlib's ``anet_type`` (dnn_face_recognition_ex.cpp), input side first.

    Tokens: a layer kind; ``tag:N`` / ``skip:N`` (dlib's tagN / skipN); ``add_prev:N`` (add_prevN).
    """

    # block = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride, x>>>>>, BN = affine; strides are in the file
    block = ["con", "affine", "relu", "con", "affine"]

    def ares() -> list[str]:  # relu<add_prev1<block<tag1<x>>>>
        return ["tag:1", *block, "add_prev:1", "relu"]

    def ares_down() -> list[str]:  # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<tag1<x>>>>>>>>
        return ["tag:1", *block, "tag:2", "skip:1", "avg_pool", "add_prev:2", "relu"]

    tokens = ["con", "affine", "relu", "max_pool"]
    tokens += ares() * 3  # alevel4: 32 filters
    tokens += ares_down() + ares() * 3  # alevel3: 64
    tokens += ares_down() + ares() * 2  # alevel2: 128
    tokens += ares_down() + ares() * 2  # alevel1: 256
    tokens += ares_down()  # alevel0: 256
    tokens += ["avg_pool", "fc"]  # avg_pool_everything, fc_no_bias<128>
    return tuple(tokens)


RESNET_V1_LAYOUT = resnet_v1_layout()


def parse_net(data: bytes, layout: tuple[str, ...] = RESNET_V1_LAYOUT, path: str | None = None) -> DlibNet:
    """Decode a serialized ``loss<...<input>>`` network whose layers follow ``layout``."""
    r = Reader(data, path)
    version = r.varint(4, what="loss wrapper version")
    if version != 1:
        raise r.error(f"not a dlib network file: loss wrapper version {version}, expected 1")
    loss = _read_loss(r)
    # wrapper versions come outside-in: add_layer 2, tag/skip 1, the add_layer holding the input 3
    for i, token in enumerate(reversed(layout)):
        start = r.pos
        got = r.varint(4, what="layer wrapper version")
        want = 3 if i == len(layout) - 1 else (1 if token.startswith(("tag:", "skip:")) else 2)
        if got != want:
            raise r.error(f"layer wrapper version {got} where layout token {token!r} expects {want}", start)
    layers = [_read_input(r)]
    for token in layout:  # details come inside-out
        if token.startswith(("tag:", "skip:")):
            kind, _, n = token.partition(":")
            layers.append(Layer(kind, {"tag": int(n)}))
            continue
        is_bottom = len(layers) == 1
        layers.append(_read_details(r, token))
        _read_trailer(r)
        if is_bottom:  # the add_layer holding the input also records its sample expansion factor
            start = r.pos
            if r.varint(8, what="sample expansion factor") != 1:
                raise r.error("sample expansion factor is not 1: not a one-image-per-sample network", start)
    if not r.at_end:
        raise r.error(f"{len(r.data) - r.pos} unexpected bytes after the network")
    layers.append(loss)
    return DlibNet(path, tuple(layers))


def read_net(path: str | os.PathLike[str], layout: tuple[str, ...] = RESNET_V1_LAYOUT) -> DlibNet:
    """Parse a dlib network file (e.g. ``dlib_face_recognition_resnet_model_v1.dat``)."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise DlibFormatError(f"cannot read: {exc.strerror or exc}", p) from exc
    if data[:2] == b"BZ":
        raise DlibFormatError("file is bzip2-compressed; decompress it first (bunzip2)", p, 0)
    return parse_net(data, layout, p)
