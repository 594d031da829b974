"""TF.js weights reader on hand-made manifests and shards (no real weights needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import WeightsFormatError
from faceprint.formats.tfjs import load_weights, take


def _write(tmp: Path, weights: list[dict], shards: list[bytes], name: str = "m") -> Path:
    paths = [f"{name}-shard{i + 1}of{len(shards)}" for i in range(len(shards))]
    for p, data in zip(paths, shards):
        (tmp / p).write_bytes(data)
    manifest = tmp / f"{name}-weights_manifest.json"
    manifest.write_text(json.dumps([{"paths": paths, "weights": weights}]))
    return manifest


def test_float32_float16_uint8_uint16_int32_across_two_shards(tmp_path: Path) -> None:
    a = np.arange(6, dtype="<f4").reshape(2, 3) - 2.5
    b = np.array([0.5, -1.25, 3.0], "<f2")
    q8 = np.array([0, 1, 255, 128], np.uint8)
    q16 = np.array([0, 65535, 1000], "<u2")
    i = np.array([-7, 9], "<i4")
    blob = a.tobytes() + b.tobytes() + q8.tobytes() + q16.tobytes() + i.tobytes()
    weights = [
        {"name": "a", "shape": [2, 3], "dtype": "float32"},
        {"name": "b", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
        {"name": "q8", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.01, "min": -1.0}},
        {"name": "q16", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.5, "min": 2.0}},
        {"name": "i", "shape": [2], "dtype": "int32"},
    ]
    cut = 17  # shards split a tensor in the middle, as TF.js does at its 4 MB boundary
    m = _write(tmp_path, weights, [blob[:cut], blob[cut:]])
    w = load_weights(m)
    np.testing.assert_array_equal(w["a"], a)
    assert w["b"].dtype == np.float32 and w["b"].tolist() == [0.5, -1.25, 3.0]
    np.testing.assert_allclose(w["q8"], (q8.astype(np.float32) * 0.01 - 1.0).reshape(2, 2), rtol=1e-6)
    np.testing.assert_allclose(w["q16"], q16.astype(np.float32) * 0.5 + 2.0, rtol=1e-6)
    assert w["i"].dtype == np.int32 and w["i"].tolist() == [-7, 9]
    assert take(w, "a", (2, 3), m) is w["a"]


def test_truncated_shard_names_the_file(tmp_path: Path) -> None:
    m = _write(tmp_path, [{"name": "a", "shape": [4, 4], "dtype": "float32"}], [b"\0" * 40])
    with pytest.raises(WeightsFormatError, match=r"m-shard1of1.*truncated.*'a'"):
        load_weights(m)


def test_missing_tensor_wrong_shape_and_leftover_bytes(tmp_path: Path) -> None:
    m = _write(tmp_path, [{"name": "a", "shape": [2], "dtype": "float32"}], [np.zeros(2, "<f4").tobytes()])
    w = load_weights(m)
    with pytest.raises(WeightsFormatError, match=r"weights_manifest.json.*no tensor 'conv/filters'"):
        take(w, "conv/filters", (3, 3), m)
    with pytest.raises(WeightsFormatError, match=r"tensor 'a' has shape \(2,\), expected \(3,\)"):
        take(w, "a", (3,), m)
    m2 = _write(tmp_path, [{"name": "a", "shape": [1], "dtype": "float32"}], [np.zeros(2, "<f4").tobytes()], "n")
    with pytest.raises(WeightsFormatError, match="4 bytes left"):
        load_weights(m2)


def test_bad_manifests(tmp_path: Path) -> None:
    with pytest.raises(WeightsFormatError, match="not found"):
        load_weights(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(WeightsFormatError, match=r"bad\.json"):
        load_weights(bad)
    m = _write(tmp_path, [{"name": "a", "shape": [1], "dtype": "complex64"}], [b"\0" * 8], "c")
    with pytest.raises(WeightsFormatError, match="complex64"):
        load_weights(m)
    m = _write(tmp_path, [{"name": "a", "shape": [1], "dtype": "float32", "quantization": {"dtype": "int4"}}], [b"\0"], "q")
    with pytest.raises(WeightsFormatError, match="int4"):
        load_weights(m)
    (tmp_path / "gone-shard1of1").unlink(missing_ok=True)
    m = tmp_path / "gone.json"
    m.write_text(json.dumps([{"paths": ["gone-shard1of1"], "weights": [{"name": "a", "shape": [1]}]}]))
    with pytest.raises(WeightsFormatError, match=r"gone-shard1of1.*cannot be read"):
        load_weights(m)
