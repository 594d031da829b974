"""Recognizers released as ONNX files (SFace, insightface ArcFace R50 / MobileFaceNet).

The real files cannot be downloaded here, so each test writes a file with the official input and
output names, shapes and opset (random weights, built with the ``onnx`` package, independently of
faceprint's own ONNX writer) and checks that faceprint feeds it exactly the declared preprocessing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceprint import Pipeline
from faceprint.errors import ConfigError, WeightsFormatError, WeightsMissingError
from faceprint.models.registry import get
from faceprint.models.weights import cache_dir
from faceprint.recognition import create_recognizer

from .conftest import IDENTITIES, needs_faces

onnx = pytest.importorskip("onnx", reason="the test files are written with the onnx package (test extra)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(11)


def write_linear_model(
    path: Path, *, inp: str, out: str, batch: int | str, size: int, dim: int, inner_norm: bool, opset: int
) -> tuple[np.ndarray, np.ndarray]:
    """An ONNX embedding model: [optional (x - 127.5) / 128 inside the graph] → flatten (NCHW) → Gemm."""
    w = RNG.normal(size=(dim, 3 * size * size)).astype(np.float32) * 0.01
    b = RNG.normal(size=dim).astype(np.float32)
    nodes, inits, x = [], [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")], inp
    if inner_norm:  # what the SFace release does as its first two nodes
        inits += [numpy_helper.from_array(np.float32(127.5), "m"), numpy_helper.from_array(np.float32(1 / 128), "s")]
        nodes += [helper.make_node("Sub", [inp, "m"], ["c"]), helper.make_node("Mul", ["c", "s"], ["n"])]
        x = "n"
    nodes += [helper.make_node("Flatten", [x], ["f"], axis=1), helper.make_node("Gemm", ["f", "W", "B"], [out], transB=1)]
    graph = helper.make_graph(
        nodes, "model", [helper.make_tensor_value_info(inp, TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, dim])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 6
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return w, b


# name, input name, output name, batch dim, dim, preprocessing done in NumPy for the reference
CASES = {
    "sface": ("data", "fc1", 1, 128, lambda rgb: (rgb - 127.5) / 128, True),
    "arcface_r50": ("input.1", "683", "None", 512, lambda rgb: (rgb - 127.5) / 127.5, False),
    "arcface_mbf": ("input.1", "516", "None", 512, lambda rgb: (rgb - 127.5) / 127.5, False),
}


@pytest.fixture(params=sorted(CASES))
def model_file(request: pytest.FixtureRequest, tmp_path: Path):
    name = request.param
    inp, out, batch, dim, _, inner = CASES[name]
    path = tmp_path / Path(get(name, "recognizer").files[0].name).name
    w, b = write_linear_model(path, inp=inp, out=out, batch=batch, size=112, dim=dim, inner_norm=inner, opset=11)
    return name, path, w, b


def test_embeddings_follow_the_declared_preprocessing(model_file) -> None:
    name, path, w, b = model_file
    spec = get(name, "recognizer")
    rec = create_recognizer(name, weights={spec.files[0].name: str(path)}, batch_size=4)
    crops = RNG.integers(0, 256, (5, 112, 112, 3), dtype=np.uint8)  # BGR, as the alignment stage makes them
    got = rec.embed(crops)
    prep = CASES[name][4]
    rgb = crops[..., ::-1].astype(np.float64)
    want = prep(rgb).transpose(0, 3, 1, 2).reshape(5, -1) @ w.T.astype(np.float64) + b
    assert got.shape == (5, spec.embedding_dim) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-3 * np.abs(want).max()
    # a model exported with a fixed batch of 1 (SFace) is run face by face; batching changes nothing
    assert np.abs(np.concatenate([rec.embed(crops[i : i + 1]) for i in range(5)]) - got).max() < 1e-5


def test_registry_declares_preprocessing() -> None:
    for name, (*_, inner) in CASES.items():
        spec = get(name, "recognizer")
        assert spec.input_size == (112, 112) and spec.color == "RGB"
        assert spec.alignment is not None and spec.alignment.size == (112, 112)
        assert spec.normalization == ("none" if inner else "insightface")
        wf = spec.files[0]
        assert wf.url and wf.url.startswith("https://") and len(wf.sha256 or "") == 64 and wf.size
    assert get("SFace", "recognizer").name == "sface" and get("Buffalo_L", "recognizer").name == "arcface_r50"
    assert not get("buffalo_l", "recognizer").commercial_use and get("sface", "recognizer").commercial_use


def test_wrong_file_is_refused_with_its_path(tmp_path: Path) -> None:
    small = tmp_path / "small.onnx"
    write_linear_model(small, inp="data", out="fc1", batch=1, size=96, dim=128, inner_norm=True, opset=11)
    rec = create_recognizer("sface", weights={get("sface", "recognizer").files[0].name: str(small)})
    with pytest.raises(WeightsFormatError, match=r"small\.onnx.*\(N, 3, 112, 112\)"):
        rec.embed(np.zeros((1, 112, 112, 3), np.uint8))
    wide = tmp_path / "wide.onnx"
    write_linear_model(wide, inp="data", out="fc1", batch=1, size=112, dim=64, inner_norm=True, opset=11)
    rec = create_recognizer("sface", weights={get("sface", "recognizer").files[0].name: str(wide)})
    with pytest.raises(WeightsFormatError, match=r"wide\.onnx.*64 values.*128"):
        rec.embed(np.zeros((1, 112, 112, 3), np.uint8))


def test_offline_error_names_file_url_hash_and_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path / "home"))
    wf = get("arcface_r50", "recognizer").files[0]
    # a copy with the wrong content in the cache is ignored (and said to be), not used
    bad = cache_dir() / wf.name
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"not the model")
    with caplog.at_level("WARNING", logger="faceprint"), pytest.raises(WeightsMissingError) as info:
        create_recognizer("buffalo_l").embed(np.zeros((1, 112, 112, 3), np.uint8))
    msg = str(info.value)
    for part in ("w600k_r50.onnx", wf.url, wf.sha256, f"Put it at: {bad}"):
        assert part in msg
    assert f"ignoring {bad}" in caplog.text


def test_unreadable_onnx_file_is_a_typed_error(tmp_path: Path) -> None:
    page = tmp_path / "w600k_r50.onnx"
    page.write_bytes(b"<!DOCTYPE html><html>rate limited</html>")
    rec = create_recognizer("arcface_r50", weights={get("arcface_r50", "recognizer").files[0].name: str(page)})
    with pytest.raises(WeightsFormatError, match=r"w600k_r50\.onnx: not a loadable ONNX model"):
        rec.embed(np.zeros((1, 112, 112, 3), np.uint8))


def test_no_threshold_is_a_clear_error() -> None:
    from faceprint.verification import threshold_for

    with pytest.raises(ConfigError, match=r"arcface_mbf.*threshold"):
        threshold_for(get("arcface_mbf", "recognizer"), "cosine")
    assert threshold_for(get("sface", "recognizer"), "cosine") == pytest.approx(1 - 0.363)


@needs_faces
def test_pipeline_aligns_to_the_arcface_template(tmp_path: Path) -> None:
    path = tmp_path / "sface.onnx"
    write_linear_model(path, inp="data", out="fc1", batch=1, size=112, dim=128, inner_norm=True, opset=11)
    pipe = Pipeline("mtcnn", "sface", recognizer_options={"weights": {get("sface", "recognizer").files[0].name: str(path)}})
    (face,) = pipe.extract_faces(IDENTITIES / "img1.jpg")
    assert face.crop.shape == (112, 112, 3)
    assert pipe.recognizer.alignment.points == get("arcface", "recognizer").alignment.points  # insightface's template
    res = pipe.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img1.jpg")
    assert res.model == "sface" and res.metric == "cosine" and res.verified and res.distance < 1e-5
