"""SphereFace-20 from a Caffe .caffemodel: faceprint's protobuf reader vs Google's protobuf encoder,
and the ONNX graph vs a NumPy forward pass of the whole network.

The official model file cannot be downloaded here (Google Drive / Baidu, no hash published), so
the test writes one in Caffe's format — a training net as ``net.save`` writes it, with the data
layer, the official layer names and shapes, the margin classifier and the loss — with random weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import WeightsMissingError
from faceprint.formats.caffe import CaffeFormatError, read_caffemodel
from faceprint.models.registry import get
from faceprint.recognition import create_recognizer
from faceprint.recognition.sphereface import param_count, sphereface20

descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2", reason="Google's protobuf (onnxruntime's dependency) writes the test file")
from google.protobuf import descriptor_pool, message_factory  # noqa: E402

F = descriptor_pb2.FieldDescriptorProto
# (message, [(field, number, type, label, type_name, packed)]) — the caffe.proto subset the file uses
CAFFE_PROTO = {
    "BlobShape": [("dim", 1, F.TYPE_INT64, F.LABEL_REPEATED, None, True)],
    "BlobProto": [("shape", 7, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "BlobShape", False),
                  ("data", 5, F.TYPE_FLOAT, F.LABEL_REPEATED, None, True)],
    "ConvolutionParameter": [("num_output", 1, F.TYPE_UINT32, F.LABEL_OPTIONAL, None, False),
                             ("pad", 3, F.TYPE_UINT32, F.LABEL_REPEATED, None, False),
                             ("kernel_size", 4, F.TYPE_UINT32, F.LABEL_REPEATED, None, False),
                             ("stride", 6, F.TYPE_UINT32, F.LABEL_REPEATED, None, False)],
    "InnerProductParameter": [("num_output", 1, F.TYPE_UINT32, F.LABEL_OPTIONAL, None, False)],
    "PReLUParameter": [("channel_shared", 2, F.TYPE_BOOL, F.LABEL_OPTIONAL, None, False)],
    "EltwiseParameter": [("operation", 1, F.TYPE_INT32, F.LABEL_OPTIONAL, None, False)],
    "LayerParameter": [("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None, False),
                       ("type", 2, F.TYPE_STRING, F.LABEL_OPTIONAL, None, False),
                       ("bottom", 3, F.TYPE_STRING, F.LABEL_REPEATED, None, False),
                       ("top", 4, F.TYPE_STRING, F.LABEL_REPEATED, None, False),
                       ("blobs", 7, F.TYPE_MESSAGE, F.LABEL_REPEATED, "BlobProto", False),
                       ("convolution_param", 106, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "ConvolutionParameter", False),
                       ("eltwise_param", 110, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "EltwiseParameter", False),
                       ("inner_product_param", 117, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "InnerProductParameter", False),
                       ("prelu_param", 131, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, "PReLUParameter", False)],
    "NetParameter": [("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None, False),
                     ("layer", 100, F.TYPE_MESSAGE, F.LABEL_REPEATED, "LayerParameter", False)],
}  # fmt: skip


def caffe_messages() -> dict[str, type]:
    fdp = descriptor_pb2.FileDescriptorProto(name="faceprint_test_caffe.proto", package="caffetest", syntax="proto2")
    for msg, fields in CAFFE_PROTO.items():
        m = fdp.message_type.add(name=msg)
        for name, number, ftype, label, type_name, packed in fields:
            f = m.field.add(name=name, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = f".caffetest.{type_name}"
            if packed:
                f.options.packed = True
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {m: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"caffetest.{m}")) for m in CAFFE_PROTO}


def random_weights(seed: int = 0) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = {}
    for op in sphereface20():
        if op.kind == "conv":
            (o, c, k, _), _ = op.blobs
            out[op.name] = [rng.normal(0, np.sqrt(2 / (c * k * k)), op.blobs[0]), rng.normal(0, 0.05, (o,))]
        elif op.kind == "prelu":
            out[op.name] = [0.25 + rng.normal(0, 0.05, op.blobs[0])]
        elif op.kind == "fc":
            out[op.name] = [rng.normal(0, 1 / np.sqrt(op.blobs[0][1]), op.blobs[0]), rng.normal(0, 0.1, op.blobs[1])]
    return {k: [a.astype(np.float32) for a in v] for k, v in out.items()}


def write_caffemodel(path: Path, weights: dict[str, list[np.ndarray]], *, stride_of: dict[str, int] | None = None,
                     shared_prelu: bool = False, drop: str | None = None) -> None:  # fmt: skip
    M = caffe_messages()
    net = M["NetParameter"](name="SpherefaceNet-20")
    net.layer.add(name="data", type="ImageData", top=["data", "label"])

    def blobs(layer, arrays: list[np.ndarray]) -> None:
        for a in arrays:
            b = layer.blobs.add()
            b.shape.dim.extend(a.shape)
            b.data.extend(a.ravel().tolist())

    for op in sphereface20():
        if op.name == drop:
            continue
        layer = net.layer.add(name=op.name, bottom=list(op.bottoms), top=[op.top])
        if op.kind == "conv":
            layer.type = "Convolution"
            stride = (stride_of or {}).get(op.name, op.stride)
            layer.convolution_param.num_output = op.blobs[0][0]
            layer.convolution_param.kernel_size.append(3)
            layer.convolution_param.pad.append(1)
            if stride != 1:
                layer.convolution_param.stride.append(stride)
            blobs(layer, weights[op.name])
        elif op.kind == "prelu":
            layer.type = "PReLU"
            blobs(layer, [weights[op.name][0][:1]] if shared_prelu else weights[op.name])
            if shared_prelu:
                layer.prelu_param.channel_shared = True
        elif op.kind == "sum":
            layer.type = "Eltwise"
            layer.eltwise_param.operation = 1
        else:
            layer.type = "InnerProduct"
            layer.inner_product_param.num_output = 512
            blobs(layer, weights[op.name])
    fc6 = net.layer.add(name="fc6", type="MarginInnerProduct", bottom=["fc5", "label"], top=["fc6"])
    blobs(fc6, [np.ones((10, 512), np.float32)])
    net.layer.add(name="softmax_loss", type="SoftmaxWithLoss", bottom=["fc6", "label"], top=["softmax_loss"])
    path.write_bytes(net.SerializeToString())


def numpy_forward(x: np.ndarray, weights: dict[str, list[np.ndarray]]) -> np.ndarray:
    """SphereFace-20 in float64 NumPy, read straight off the prototxt: (C, H, W) → 512."""
    blobs = {"data": x.astype(np.float64)}
    for op in sphereface20():
        if op.kind == "conv":
            w, b = (a.astype(np.float64) for a in weights[op.name])
            p = np.pad(blobs[op.bottoms[0]], ((0, 0), (1, 1), (1, 1)))
            win = np.lib.stride_tricks.sliding_window_view(p, (3, 3), axis=(1, 2))[:, :: op.stride, :: op.stride]
            blobs[op.top] = np.tensordot(w, win, axes=([1, 2, 3], [0, 3, 4])) + b[:, None, None]
        elif op.kind == "prelu":
            a = weights[op.name][0].astype(np.float64)[:, None, None]
            y = blobs[op.top]
            blobs[op.top] = np.where(y > 0, y, a * y)
        elif op.kind == "sum":
            blobs[op.top] = blobs[op.bottoms[0]] + blobs[op.bottoms[1]]
        else:
            w, b = (a.astype(np.float64) for a in weights[op.name])
            blobs[op.top] = w @ blobs[op.bottoms[0]].ravel() + b
    return blobs["fc5"]


def _recognizer(path: Path):
    return create_recognizer("sphereface", weights={get("sphereface", "recognizer").files[0].name: str(path)})


def test_architecture_matches_the_prototxt() -> None:
    ops = sphereface20()
    assert sum(op.kind == "conv" for op in ops) == 20 and sum(op.kind == "sum" for op in ops) == 8
    # conv + PReLU + fc5 of sphereface_deploy.prototxt: 22,670,656, of which 4,672 PReLU slopes
    assert param_count(ops) == 22_670_656
    assert sum(int(np.prod(op.blobs[0])) for op in ops if op.kind == "prelu") == 4_672
    assert ops[-1].blobs[0] == (512, 512 * 7 * 6)  # a 112x96 input is 7x6 after four stride-2 stages


def test_reader_gets_every_blob_and_parameter(tmp_path: Path) -> None:
    weights = random_weights()
    path = tmp_path / "sphereface_model.caffemodel"
    write_caffemodel(path, weights)
    net = read_caffemodel(path)
    assert net.name == "SpherefaceNet-20" and net.layers[0].tops == ("data", "label")
    for name, arrays in weights.items():
        layer = net.layer(name)
        assert len(layer.blobs) == len(arrays) and all(np.array_equal(a, b) for a, b in zip(layer.blobs, arrays))
    conv = net.layer("conv2_1").params
    assert conv["kernel"] == (3, 3) and conv["stride"] == (2, 2) and conv["pad"] == (1, 1) and conv["num_output"] == 128
    assert net.layer("conv2_2").params["stride"] == (1, 1)
    assert net.layer("res3_5").params["operation"] == "SUM" and net.layer("res3_5").bottoms == ("res3_3", "conv3_5")
    assert net.layer("fc6").type == "MarginInnerProduct"


def test_forward_equals_numpy(tmp_path: Path) -> None:
    weights = random_weights(1)
    path = tmp_path / "sphereface_model.caffemodel"
    write_caffemodel(path, weights)
    rec = _recognizer(path)
    crops = np.random.default_rng(2).integers(0, 256, (2, 112, 96, 3), dtype=np.uint8)  # BGR, as aligned
    got = rec.embed(crops)
    assert got.shape == (2, 512) and rec.runs_on == "CPUExecutionProvider"
    for i in range(2):
        x = (crops[i].astype(np.float64) - 127.5) / 128  # the registry's normalisation, BGR kept (Caffe)
        want = numpy_forward(x.transpose(2, 0, 1), weights)
        assert np.abs(got[i] - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"stride_of": {"conv3_1": 1}}, "conv3_1.*geometry"), ({"shared_prelu": True}, "relu1_1.*shares one PReLU"),
     ({"drop": "conv4_2"}, "no layer named 'conv4_2'")],
)  # fmt: skip
def test_wrong_files_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    path = tmp_path / "bad.caffemodel"
    write_caffemodel(path, random_weights(), **kwargs)
    with pytest.raises(CaffeFormatError, match=rf"bad\.caffemodel.*{message}"):
        _recognizer(path).embed(np.zeros((1, 112, 96, 3), np.uint8))


def test_truncated_html_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.caffemodel"
    write_caffemodel(path, random_weights())
    data = path.read_bytes()
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CaffeFormatError, match=r"cut\.caffemodel.*not a readable Caffe model"):
        read_caffemodel(cut)
    # protobuf-shaped bytes with the wrong wire types: a layer as a number, a layer name as a number
    for name, raw in {"w1": b"\xa0\x06\x05", "w2": b"\xa2\x06\x02\x08\x05"}.items():
        bad = tmp_path / f"{name}.caffemodel"
        bad.write_bytes(raw)
        with pytest.raises(CaffeFormatError, match=rf"{name}\.caffemodel.*not a readable Caffe model"):
            read_caffemodel(bad)
    page = tmp_path / "page.caffemodel"
    page.write_bytes(b"<!DOCTYPE html><html>Google Drive - Virus scan warning</html>")
    with pytest.raises(CaffeFormatError, match=r"page\.caffemodel.*HTML"):
        read_caffemodel(page)
    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    with pytest.raises(WeightsMissingError, match=r"(?s)sphereface_model\.caffemodel.*Fetch it by hand from: https://drive"):
        create_recognizer("SphereFace").embed(np.zeros((1, 112, 96, 3), np.uint8))
