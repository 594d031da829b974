"""faceprint's protobuf wire format and ONNX writer, checked against Google's protobuf (via the onnx package)."""

from __future__ import annotations

import numpy as np
import pytest

from faceprint.formats import protobuf as pb
from faceprint.formats.onnx_graph import GraphBuilder, tensor
from faceprint.models.runtime import onnx_session


def _onnx():
    return pytest.importorskip("onnx", reason="the onnx package (test extra) is the independent protobuf implementation")


@pytest.mark.parametrize(
    ("value", "raw"),
    [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (2**63 - 1, "ffffffffffffffff7f"),
     (-1, "ffffffffffffffffff01"), (-2, "feffffffffffffffff01")],
)  # fmt: skip
def test_varint(value: int, raw: str) -> None:
    assert pb.varint(value).hex() == raw
    ((number, wire, got),) = pb.fields(pb.int_field(3, value))
    assert (number, wire, pb.signed(got)) == (3, pb.VARINT, value)


def test_tensors_both_ways() -> None:
    onnx = _onnx()
    from onnx import numpy_helper

    arr = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    parsed = onnx.TensorProto()
    parsed.ParseFromString(tensor("w", arr))  # ours → Google's parser
    assert parsed.name == "w" and np.array_equal(numpy_helper.to_array(parsed), arr)
    # Google's encoder → ours: dims and float_data are packed repeated fields in proto3
    theirs = onnx.helper.make_tensor("t", onnx.TensorProto.FLOAT, [4, 2], arr.ravel()[:8].tolist())
    g = pb.group(theirs.SerializeToString())
    assert pb.repeated_ints(g[1]) == [4, 2]
    assert bytes(g[8][0][1]) == b"t"
    assert np.array_equal(pb.repeated_floats(g[4]), arr.ravel()[:8])
    # unpacked repeated fields are legal too and must read the same
    unpacked = pb.message(pb.int_field(1, 4), pb.int_field(1, 2), (pb.float_field(4, v) for v in arr.ravel()[:8]))
    g2 = pb.group(unpacked)
    assert pb.repeated_ints(g2[1]) == [4, 2] and np.array_equal(pb.repeated_floats(g2[4]), arr.ravel()[:8])


@pytest.mark.parametrize("cut", [1, 3, 10])
def test_truncated_messages_raise(cut: int) -> None:
    data = pb.message(pb.bytes_field(1, b"abcdefgh"), pb.int_field(2, 2**40))
    with pytest.raises(pb.ProtobufError):
        list(pb.fields(data[: len(data) - cut]))


def test_bad_wire_type_and_field_zero() -> None:
    with pytest.raises(pb.ProtobufError, match="wire type 3"):
        list(pb.fields(bytes([1 << 3 | 3])))
    with pytest.raises(pb.ProtobufError, match="field number 0"):
        list(pb.fields(b"\x00\x01"))


def test_graph_builder_model_runs_and_checks() -> None:
    onnx = _onnx()
    g = GraphBuilder("tiny")
    x = g.input("x", np.float32, ("N", 3))
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = g.op("Gemm", [x, g.const(w, "w")], transB=1, alpha=0.5)
    g.op("Relu", [y], out="y")
    g.output("y", np.float32, ("N", 2))
    model = g.model()
    onnx.checker.check_model(onnx.load_from_string(model), full_check=True)
    xs = np.array([[1, -2, 3], [-1, -1, -1]], np.float32)
    got = onnx_session(model).run(None, {"x": xs})[0]
    assert np.allclose(got, np.maximum(0.5 * xs @ w.T, 0))
