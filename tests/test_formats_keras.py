"""The Keras engine shared by the recognizers and by KerasGraph: a model file is checked against
the layout its config declares, layer by layer, before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the Keras engine runs on PyTorch (pip install 'faceprint[torch]')")
h5py = pytest.importorskip("h5py", reason="Keras .h5 files are read with h5py (pip install h5py)")

from faceprint.errors import ConfigError, WeightsFormatError  # noqa: E402
from faceprint.formats.keras_engine import KerasRun, declare, load_params  # noqa: E402
from faceprint.formats.keras_graph import KerasGraph  # noqa: E402
from faceprint.formats.keras_h5 import read_config, read_weights, same_pad  # noqa: E402

RNG = np.random.default_rng(3)


def _model_file(path: Path, layers: list[dict], weights: dict[str, dict[str, np.ndarray]]) -> Path:
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": layers}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in weights]
        for name, arrays in weights.items():
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [f"{name}/{k}:0".encode() for k in arrays]
            for k, a in arrays.items():
                lg.create_dataset(f"{name}/{k}:0", data=a)
    return path


def _conv(name: str, **cfg: object) -> dict:
    return {"class_name": "Conv2D", "config": {"name": name, "kernel_size": [3, 3], "strides": [1, 1], **cfg}}


def _graph(path: Path) -> KerasGraph:
    return KerasGraph(read_config(str(path)), read_weights(str(path)), source=str(path))


def test_a_kernel_of_the_wrong_shape_is_named_before_anything_runs(tmp_path: Path) -> None:
    layers = [_conv("c1", batch_input_shape=[None, 8, 8, 1]), {"class_name": "Flatten", "config": {"name": "f"}}]
    good = {"c1": {"kernel": RNG.normal(size=(3, 3, 1, 2)).astype(np.float32), "bias": np.zeros(2, np.float32)}}
    out = _graph(_model_file(tmp_path / "good.h5", layers, good)).forward(np.ones((1, 8, 8, 1), np.float32))
    assert out.shape == (1, 6 * 6 * 2)
    bad = {"c1": {"kernel": RNG.normal(size=(3, 3, 3, 2)).astype(np.float32), "bias": np.zeros(2, np.float32)}}
    with pytest.raises(WeightsFormatError, match=r"bad\.h5: c1/kernel is \(3, 3, 3, 2\), expected \(3, 3, 1, 2\)"):
        _graph(_model_file(tmp_path / "bad.h5", layers, bad))


def test_missing_layer_weights_and_a_missing_input_shape_are_reported(tmp_path: Path) -> None:
    layers = [_conv("c1", batch_input_shape=[None, 8, 8, 1], filters=2), _conv("c2", filters=2)]
    w = {"c1": {"kernel": RNG.normal(size=(3, 3, 1, 2)).astype(np.float32)}}
    with pytest.raises(WeightsFormatError, match=r"missing \['c2'\]"):
        _graph(_model_file(tmp_path / "m.h5", layers, w))
    layers[0]["config"].pop("batch_input_shape")
    with pytest.raises(ConfigError, match="no input shape"):
        _graph(_model_file(tmp_path / "n.h5", layers, w))


def test_separable_convolution_declares_keras_shapes_and_matches_two_convolutions() -> None:
    def arch(r: KerasRun, x: object) -> object:
        return r.separable(x, "sep", 5, 3, 2, "same", multiplier=2)

    layout = declare(arch, (9, 7))
    assert layout["sep"].shapes == {"depthwise_kernel": (3, 3, 3, 2), "pointwise_kernel": (1, 1, 6, 5), "bias": (5,)}
    arrays = {k: RNG.normal(size=s).astype(np.float32) for k, s in layout["sep"].shapes.items()}
    params = load_params(layout, {"sep": arrays}, torch.device("cpu"))
    x = torch.from_numpy(RNG.normal(size=(2, 3, 7, 9)).astype(np.float32))
    got = arch(KerasRun(torch, params), x)
    (t, b), (left, r) = same_pad(7, 3, 2), same_pad(9, 3, 2)
    assert (t, b, left, r) == (1, 1, 1, 1)
    dk = torch.from_numpy(arrays["depthwise_kernel"]).permute(2, 3, 0, 1).reshape(6, 1, 3, 3)  # in-major, as Keras
    ref = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (left, r, t, b)), dk, stride=2, groups=3)
    ref = torch.nn.functional.conv2d(ref, torch.from_numpy(arrays["pointwise_kernel"]).permute(3, 2, 0, 1),
                                     torch.from_numpy(arrays["bias"]))  # fmt: skip
    assert got.shape == (2, 5, 4, 5)
    torch.testing.assert_close(got, ref)


def test_same_padding_puts_the_odd_pixel_after() -> None:
    assert same_pad(112, 3, 2) == (0, 1) and same_pad(7, 3, 1) == (1, 1) and same_pad(28, 1, 2) == (0, 0)
    assert same_pad(5, 4, 1) == (1, 2) and same_pad(3, 7, 1) == (3, 3)
