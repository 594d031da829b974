"""deepface's Keras recognizers (OpenFace, FaceNet, FaceNet-512, VGG-Face) rebuilt on PyTorch.

The real weight files are not available offline, so each test writes an ``.h5`` in deepface's layout
(Keras 2 ``save_weights``: layer groups at the root, ``layer_names`` / ``weight_names`` attributes)
with random values, loads it through the recognizer, and checks the result against NumPy.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="these recognizers run on PyTorch (pip install 'faceprint[torch]')")
h5py = pytest.importorskip("h5py", reason="Keras .h5 weights are read with h5py (pip install h5py)")

from faceprint.errors import ConfigError, WeightsFormatError, WeightsMissingError  # noqa: E402
from faceprint.formats.keras_engine import KerasRun, LayerSpec, declare, load_params, param_count  # noqa: E402
from faceprint.formats.keras_h5 import read_zipped_weights  # noqa: E402
from faceprint.models.registry import get  # noqa: E402
from faceprint.nets.vgg_face import vgg_face_shapes  # noqa: E402
from faceprint.recognition import create_recognizer  # noqa: E402
from faceprint.recognition.arcface import arcface_resnet34  # noqa: E402
from faceprint.recognition.deepid import deepid  # noqa: E402
from faceprint.recognition.facenet import inception_resnet_v1  # noqa: E402
from faceprint.recognition.fb_deepface import fb_deepface  # noqa: E402
from faceprint.recognition.openface import openface  # noqa: E402
from faceprint.recognition.preprocess import VGG_MEAN_BGR, normalize  # noqa: E402

RNG = np.random.default_rng(7)


# --- helpers -------------------------------------------------------------------------------------


def write_keras_weights(path: Path, layers: dict[str, dict[str, np.ndarray]], empty: tuple[str, ...] = ()) -> None:
    """A Keras 2 weights-only file: a group per layer, arrays at ``<layer>/<layer>/<kind>:0``."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in (*empty, *layers)]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.4.0"
        for name in empty:  # weightless layers (input, activations, lambdas) are listed too
            f.create_group(name).attrs["weight_names"] = []
        for name, arrays in layers.items():
            g = f.create_group(name)
            g.attrs["weight_names"] = [f"{name}/{k}:0".encode() for k in arrays]
            for k, a in arrays.items():
                g.create_dataset(f"{name}/{k}:0", data=a)


def random_weights(layout: dict[str, LayerSpec]) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, spec in layout.items():
        arrays = {}
        for kind, shape in spec.shapes.items():
            if kind == "kernel":
                fan_in = int(np.prod(shape[:-1]))
                a = RNG.standard_normal(shape, dtype=np.float32) * np.float32(1.0 / np.sqrt(fan_in))
            elif kind in ("gamma", "moving_variance"):
                a = RNG.uniform(0.5, 1.5, shape).astype(np.float32)
            else:
                a = RNG.uniform(-0.1, 0.1, shape).astype(np.float32)
            arrays[kind] = a
        out[name] = arrays
    return out


def np_conv(x: np.ndarray, kernel: np.ndarray, stride: int = 1, bias: np.ndarray | None = None) -> np.ndarray:
    """NHWC valid convolution with a Keras (kh, kw, in, out) kernel, float64."""
    kh, kw = kernel.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    y = np.einsum("nhwcij,ijco->nhwo", win, kernel.astype(np.float64))
    return y if bias is None else y + bias


def np_bn(x: np.ndarray, w: dict[str, np.ndarray], eps: float) -> np.ndarray:
    gamma = w.get("gamma", np.ones_like(w["beta"]))
    return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"].astype(np.float64) + eps) * gamma + w["beta"]


def np_pad(x: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def np_maxpool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s].max(axis=(-2, -1))


def nhwc(t: Any) -> np.ndarray:
    return t.permute(0, 2, 3, 1).numpy().astype(np.float64)


def close(a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> bool:
    return bool(np.abs(a - b).max() <= tol * max(1.0, float(np.abs(b).max())))


def check_landed(params: dict[str, dict[str, Any]], layout: dict[str, LayerSpec], file: dict[str, dict[str, np.ndarray]],
                 file_name: Any = str) -> None:  # fmt: skip
    """Every array of the file is in the tensor of its layer, in PyTorch's layout."""
    for name, spec in layout.items():
        w, p = file[file_name(name)], params[name]
        if spec.op == "bn":
            scale = w.get("gamma", 1.0) / np.sqrt(w["moving_variance"] + spec.eps)
            np.testing.assert_allclose(p["scale"].numpy(), scale, rtol=1e-6, err_msg=name)
            np.testing.assert_allclose(p["shift"].numpy(), w["beta"] - w["moving_mean"] * scale, rtol=1e-5, atol=1e-7)
            continue
        if spec.op == "prelu":
            np.testing.assert_array_equal(p["alpha"].numpy(), w["alpha"].reshape(-1), err_msg=name)
            continue
        k = w["kernel"].transpose(3, 2, 0, 1) if spec.op == "conv" else w["kernel"].T
        np.testing.assert_array_equal(p["kernel"].numpy(), k, err_msg=name)
        if "bias" in w:
            np.testing.assert_array_equal(p["bias"].numpy(), w["bias"], err_msg=name)
        else:
            assert "bias" not in p, name


# --- (a) parameter counts --------------------------------------------------------------------------


def test_parameter_counts_match_the_published_models() -> None:
    assert param_count(declare(openface, (96, 96))) == 3_743_280
    assert param_count(declare(inception_resnet_v1, (160, 160))) == 22_808_144
    # 512-d: the bottleneck grows by 1792 * 384 weights and 384 * 3 batch-norm values
    assert param_count(declare(inception_resnet_v1, (160, 160), dim=512)) == 22_808_144 + 1792 * 384 + 384 * 3
    assert sum(int(np.prod(s)) for layer in vgg_face_shapes() for s in layer.values()) == 145_002_878
    assert param_count(declare(fb_deepface, (152, 152), classes=8631)) == 137_774_071
    assert param_count(declare(deepid, (47, 55))) == 395_080  # no published count; conv/dense sizes of the paper
    assert param_count(declare(arcface_resnet34, (112, 112))) == 34_165_184  # measured; no published count


# --- (b) loading deepface's layout, forward against NumPy ----------------------------------------------


def test_openface_loads_deepface_layout_and_matches_numpy(tmp_path: Path) -> None:
    rec = create_recognizer("OpenFace")
    layout = rec.layout()
    assert len(layout) == 75 and list(layout)[:3] == ["conv1", "bn1", "conv2"]
    file = random_weights(layout)
    path = tmp_path / "openface_weights.h5"
    write_keras_weights(path, file, empty=("input_1", "zero_padding2d", "lrn_1", "norm_layer"))
    rec = create_recognizer("OpenFace", weights={"deepface/openface_weights.h5": str(path)})
    crops = RNG.integers(0, 256, (2, 96, 96, 3), dtype=np.uint8)
    emb = rec.embed(crops)
    params = rec._model[0]
    check_landed(params, layout, file)

    # the forward pass, layer by layer, against NumPy
    x = crops[..., ::-1].astype(np.float64) / 255.0  # BGR → RGB, /255
    run = KerasRun(torch, params, trace={})
    out = openface(run, torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32)))
    y = np_conv(np_pad(x, 3, 3, 3, 3), file["conv1"]["kernel"], 2, file["conv1"]["bias"])
    assert close(nhwc(run.trace["conv1"]), y)
    y = np_bn(y, file["bn1"], 1e-5)
    assert close(nhwc(run.trace["bn1"]), y)
    y = np_maxpool(np_pad(np.maximum(y, 0), 1, 1, 1, 1), 3, 2)
    sq = np.pad(y * y, ((0, 0), (0, 0), (0, 0), (5, 5)))  # TF lrn: radius 5, bias 1, alpha 1e-4, beta 0.75
    y = y / (1 + 1e-4 * sum(sq[..., i : i + y.shape[-1]] for i in range(11))) ** 0.75
    assert close(nhwc(run.trace["conv2"]), np_conv(y, file["conv2"]["kernel"], 1, file["conv2"]["bias"]))
    ref = out.numpy() / np.linalg.norm(out.numpy(), axis=1, keepdims=True)
    assert emb.shape == (2, 128) and np.allclose(emb, ref, atol=1e-5)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def _deepface_facenet_name(name: str) -> str:
    """deepface's own spelling: Block17_i / Block8_i (i < 6) call their second branch "Branch_<i>"."""
    parts = name.split("_")
    if parts[0] in ("Block17", "Block8") and parts[3] == "1" and parts[1] != "6":
        parts[3] = parts[1]
    return "_".join(parts)


def test_facenet_loads_deepface_names_and_matches_numpy(tmp_path: Path) -> None:
    rec0 = create_recognizer("Facenet")
    layout = rec0.layout()
    assert len(layout) == 245
    file = random_weights(layout)
    renamed = {_deepface_facenet_name(n): w for n, w in file.items()}
    assert "Block17_5_Branch_5_Conv2d_0b_1x7" in renamed and "Block8_6_Branch_1_Conv2d_0a_1x1" in renamed
    path = tmp_path / "facenet_weights.h5"
    write_keras_weights(path, renamed, empty=("input_1", "AvgPool", "Dropout"))
    rec = create_recognizer("Facenet", weights={"deepface/facenet_weights.h5": str(path)})
    crops = RNG.integers(0, 256, (2, 160, 160, 3), dtype=np.uint8)
    emb = rec.embed(crops)
    params = rec._model[0]
    check_landed(params, layout, renamed, _deepface_facenet_name)

    x = normalize(crops[..., ::-1], "standardize").astype(np.float64)
    run = KerasRun(torch, params, trace={})
    out = inception_resnet_v1(run, torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32)))
    y = np_bn(np_conv(x, file["Conv2d_1a_3x3"]["kernel"], 2), file["Conv2d_1a_3x3_BatchNorm"], 1e-3)
    assert close(nhwc(run.trace["Conv2d_1a_3x3_BatchNorm"]), y)
    y = np_bn(np_conv(np.maximum(y, 0), file["Conv2d_2a_3x3"]["kernel"]), file["Conv2d_2a_3x3_BatchNorm"], 1e-3)
    y = np_conv(np_pad(np.maximum(y, 0), 1, 1, 1, 1), file["Conv2d_2b_3x3"]["kernel"])  # "same", stride 1
    assert close(nhwc(run.trace["Conv2d_2b_3x3"]), y)
    # a 1x7 kernel: height and width must not be swapped
    name = "Block17_1_Branch_1_Conv2d_0b_1x7"
    inp = np.maximum(nhwc(run.trace["Block17_1_Branch_1_Conv2d_0a_1x1_BatchNorm"]), 0)
    assert close(nhwc(run.trace[name]), np_conv(np_pad(inp, 0, 0, 3, 3), file[name]["kernel"]))
    assert emb.shape == (2, 128) and np.isfinite(emb).all()
    assert np.allclose(emb, out.numpy(), rtol=1e-5, atol=1e-5)  # FaceNet's output is not L2-normalised


def test_vgg_face_descriptor_matches_numpy_on_a_narrow_file(tmp_path: Path) -> None:
    """The real layer structure at reduced width (the full file is 145M parameters)."""
    shapes = vgg_face_shapes(widths=(2, 2, 3, 3, 4), fc=6, classes=5)
    file = {
        f"conv2d_{i + 1}": {k: RNG.standard_normal(s).astype(np.float32) * 0.3 for k, s in layer.items()}
        for i, layer in enumerate(shapes)
    }
    path = tmp_path / "vgg_face_weights.h5"
    write_keras_weights(path, file, empty=("zero_padding2d_1", "max_pooling2d_1", "flatten_1", "activation_1"))
    rec = create_recognizer("VGG-Face", weights={"deepface/vgg_face_weights.h5": str(path)})
    crops = RNG.integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)
    emb = rec.embed(crops)

    y = crops.astype(np.float64) - np.array(VGG_MEAN_BGR)  # BGR kept, mean colour removed
    layers = list(file.values())
    i = 0
    for n in (2, 2, 3, 3, 3):
        for _ in range(n):
            y = np.maximum(np_conv(np_pad(y, 1, 1, 1, 1), layers[i]["kernel"], 1, layers[i]["bias"]), 0)
            i += 1
        y = np_maxpool(y, 2, 2)
    y = np.maximum(np_conv(y, layers[13]["kernel"], 1, layers[13]["bias"]), 0)
    y = np.maximum(np_conv(y, layers[14]["kernel"], 1, layers[14]["bias"]), 0).reshape(2, -1)  # fc7, not the classifier
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    assert emb.shape == (2, 6) and np.allclose(emb, y, atol=1e-4)


def test_arcface_loads_numbered_head_names_and_matches_numpy(tmp_path: Path) -> None:
    layout = declare(arcface_resnet34, (112, 112))
    file = random_weights(layout)
    in_file = {"batch_normalization": "batch_normalization_3", "dense": "dense_7"}  # Keras' session numbering
    renamed = {in_file.get(n, n): w for n, w in file.items()}
    path = tmp_path / "arcface_weights.h5"
    write_keras_weights(path, renamed, empty=("input_1", "conv1_pad", "dropout", "flatten"))
    rec = create_recognizer("ArcFace", weights={"deepface/arcface_weights.h5": str(path)})
    crops = RNG.integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    emb = rec.embed(crops)
    params = rec._model[0]
    check_landed(params, layout, file)

    x = (crops[..., ::-1].astype(np.float64) - 127.5) / 128.0
    run = KerasRun(torch, params, trace={})
    arcface_resnet34(run, torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32)))
    y = np_bn(np_conv(np_pad(x, 1, 1, 1, 1), file["conv1_conv"]["kernel"]), file["conv1_bn"], 2e-5)
    alpha = file["conv1_prelu"]["alpha"]
    y = np.where(y >= 0, y, alpha * y)
    assert close(nhwc(run.trace["conv1_prelu"]), y)
    y = np_bn(np_conv(y, file["conv2_block1_0_conv"]["kernel"], 2), file["conv2_block1_0_bn"], 2e-5)
    assert close(nhwc(run.trace["conv2_block1_0_bn"]), y)  # the strided 1x1 shortcut
    assert run.trace["batch_normalization"].shape == (2, 512, 7, 7)
    y = run.trace["batch_normalization"].permute(0, 2, 3, 1).numpy().reshape(2, -1).astype(np.float64)
    y = y @ file["dense"]["kernel"] + file["dense"]["bias"]  # NHWC flatten, as Keras
    y = np_bn(y, file["embedding"], 2e-5)
    assert emb.shape == (2, 512) and close(emb.astype(np.float64), y)


def test_deepid_loads_and_matches_numpy(tmp_path: Path) -> None:
    layout = declare(deepid, (47, 55))
    file = random_weights(layout)
    path = tmp_path / "deepid_keras_weights.h5"
    write_keras_weights(path, file, empty=("input_1", "Pool1", "D1", "flatten", "deepid"))
    rec = create_recognizer("DeepID", weights={"deepface/deepid_keras_weights.h5": str(path)})
    crops = RNG.integers(0, 256, (2, 55, 47, 3), dtype=np.uint8)  # height 55, width 47
    emb = rec.embed(crops)
    check_landed(rec._model[0], layout, file)
    y = crops.astype(np.float64) / 255.0  # deepface's default input: BGR / 255
    for name in ("Conv1", "Conv2", "Conv3"):
        y = np_maxpool(np.maximum(np_conv(y, file[name]["kernel"], 1, file[name]["bias"]), 0), 2, 2)
    y2 = np.maximum(np_conv(y, file["Conv4"]["kernel"], 1, file["Conv4"]["bias"]), 0)
    fc11 = y.reshape(2, -1) @ file["fc11"]["kernel"] + file["fc11"]["bias"]  # NHWC flatten, as Keras
    fc12 = y2.reshape(2, -1) @ file["fc12"]["kernel"] + file["fc12"]["bias"]
    assert emb.shape == (2, 160) and np.allclose(emb, np.maximum(fc11 + fc12, 0), atol=1e-4)


def test_fb_deepface_layout_and_locally_connected_layers(tmp_path: Path) -> None:
    """The 137M-parameter file is not written: its layout is checked, and the locally connected
    layer (the one op it adds) is checked against a NumPy loop on Keras' kernel layout."""
    layout = declare(fb_deepface, (152, 152), classes=8631)
    assert {n: s.shapes["kernel"] for n, s in layout.items()} == {
        "C1": (11, 11, 3, 32), "C3": (9, 9, 32, 16), "L4": (55 * 55, 9 * 9 * 16, 16), "L5": (25 * 25, 7 * 7 * 16, 16),
        "L6": (21 * 21, 5 * 5 * 16, 16), "F7": (21 * 21 * 16, 4096), "F8": (4096, 8631),
    }  # fmt: skip
    assert layout["L5"].shapes["bias"] == (25, 25, 16)

    def net(r: KerasRun, x: Any) -> Any:
        return r.local(r.local(x, "La", 4, 3), "Lb", 5, 2, 2)

    small = declare(net, (9, 8))  # width 9, height 8
    file = random_weights(small)
    x = RNG.standard_normal((2, 8, 9, 3))
    with zipfile.ZipFile(tmp_path / "w.h5.zip", "w") as z:  # deepface's DeepFace file comes zipped
        write_keras_weights(tmp_path / "w.h5", file)
        z.write(tmp_path / "w.h5", "w.h5")
    params = load_params(small, read_zipped_weights(str(tmp_path / "w.h5.zip")), "cpu")
    got = net(KerasRun(torch, params), torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32)))

    def np_local(x: np.ndarray, w: dict[str, np.ndarray], k: int, s: int) -> np.ndarray:
        oh, ow, f = w["bias"].shape
        out = np.empty((x.shape[0], oh, ow, f))
        for i in range(oh):
            for j in range(ow):
                patch = x[:, i * s : i * s + k, j * s : j * s + k, :].reshape(x.shape[0], -1)  # (kh, kw, in)
                out[:, i, j] = patch @ w["kernel"][i * ow + j] + w["bias"][i, j]
        return out

    ref = np_local(np_local(x, file["La"], 3, 1), file["Lb"], 2, 2)
    assert close(nhwc(got), ref)


def test_a_file_of_another_shape_is_rejected_by_name() -> None:
    layout = declare(openface, (96, 96))
    file = random_weights(layout)
    file["inception_4a_pool_conv"]["kernel"] = file["inception_4a_pool_conv"]["kernel"][..., :64]
    with pytest.raises(WeightsFormatError, match="inception_4a_pool_conv/kernel"):
        load_params(layout, file, "cpu")
    del file["dense_layer"]
    with pytest.raises(WeightsFormatError, match="dense_layer"):
        load_params(layout, file, "cpu")
    arc = declare(arcface_resnet34, (112, 112))
    two_heads = {"dense_1": {"kernel": np.zeros((1, 1))}, "dense_2": {"kernel": np.zeros((1, 1))}}
    with pytest.raises(WeightsFormatError, match="share one name"):
        load_params(arc, two_heads, "cpu", create_recognizer("ArcFace").canonical)


# --- (c) preprocessing per model ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["OpenFace", "Facenet", "Facenet512", "VGG-Face", "DeepID", "DeepFace", "ArcFace"])
def test_preprocessing(name: str) -> None:
    spec = get(name, "recognizer")
    w, h = spec.input_size
    crops = RNG.integers(0, 256, (3, h, w, 3), dtype=np.uint8)
    crops[2] = 77  # a flat image: FaceNet's standardisation must not divide by zero
    seen: list[np.ndarray] = []
    rec = create_recognizer(name)
    rec._model = (None, torch.device("cpu"))  # no weights: capture what the network would get
    rec._forward = lambda x: seen.append(x.numpy()) or torch.zeros((x.shape[0], 4))  # type: ignore[method-assign]
    rec.embed(crops)
    got = seen[0].transpose(0, 2, 3, 1)
    x = crops.astype(np.float64)
    if name == "OpenFace":
        ref = x[..., ::-1] / 255.0
    elif name.startswith("Facenet"):
        rgb = x[..., ::-1]
        mean, std = rgb.mean(axis=(1, 2, 3), keepdims=True), rgb.std(axis=(1, 2, 3), keepdims=True)
        ref = (rgb - mean) / np.maximum(std, 1 / np.sqrt(h * w * 3))
        assert np.abs(got[2]).max() == 0
    elif name == "ArcFace":
        ref = (x[..., ::-1] - 127.5) / 128.0
    elif name == "VGG-Face":
        ref = x - np.array([93.5940, 104.7624, 129.1863])  # B, G, R means of VGG-Face's training set
    else:
        ref = x / 255.0  # BGR kept
    assert got.shape == (3, h, w, 3) and np.allclose(got, ref, atol=1e-4)
    with pytest.raises(ConfigError, match=f"needs \\({h}, {w}, 3\\)"):
        rec.embed(np.zeros((1, h + 1, w, 3), np.uint8))


def test_normalization_can_be_overridden() -> None:
    """deepface's own default feeds every model BGR / 255; ``normalization`` reproduces that per model."""
    seen: list[np.ndarray] = []
    rec = create_recognizer("VGG-Face", normalization="unit")
    rec._model = (None, torch.device("cpu"))
    rec._forward = lambda x: seen.append(x.numpy()) or torch.zeros((x.shape[0], 4))  # type: ignore[method-assign]
    crops = RNG.integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    rec.embed(crops)
    assert np.allclose(seen[0].transpose(0, 2, 3, 1), crops / 255.0, atol=1e-6)
    with pytest.raises(ConfigError, match="unknown normalization"):
        create_recognizer("Facenet", normalization="zscore")


def test_registry_entries() -> None:
    from faceprint.alignment import _FIVE_IN_DLIB_UNIT
    from faceprint.models.templates import FIVE_IN_UNIT

    assert np.array_equal(np.array(FIVE_IN_UNIT), _FIVE_IN_DLIB_UNIT)
    dims = {"OpenFace": 128, "Facenet": 128, "Facenet512": 512, "VGG-Face": 4096, "DeepID": 160, "DeepFace": 4096,
            "ArcFace": 512}  # fmt: skip
    for name, dim in dims.items():
        spec = get(name, "recognizer")
        assert spec.embedding_dim == dim and not spec.commercial_use and "not fetched" in spec.source
        assert spec.files[0].sha256 is None and spec.files[0].size is None and spec.files[0].url


# --- (d) offline -----------------------------------------------------------------------------------------


def test_offline_embed_names_the_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", str(tmp_path / "none"))
    with pytest.raises(WeightsMissingError) as info:
        create_recognizer("Facenet").embed(np.zeros((1, 160, 160, 3), np.uint8))
    msg = str(info.value)
    assert "deepface/facenet_weights.h5" in msg
    assert "https://github.com/serengil/deepface_models/releases/download/v1.0/facenet_weights.h5" in msg
    assert "Put it at" in msg and str(tmp_path / "home") in msg
