"""GhostFaceNetV1: the layout of deepface's state dict, the loader's checks, and the whole forward
pass against a NumPy implementation written from the paper's block table (float64)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import WeightsFormatError, WeightsMissingError
from faceprint.models.registry import get
from faceprint.recognition import create_recognizer

torch = pytest.importorskip("torch", reason="GhostFaceNet runs on PyTorch: pip install 'faceprint[torch]'")
from faceprint.recognition.ghostfacenet import BLOCKS, declare  # noqa: E402

FILE = get("ghostfacenet", "recognizer").files[0].name


def random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict as ``torch.save(model.state_dict())`` writes one, batch-norm counters included."""
    rng = np.random.default_rng(seed)
    out: dict[str, torch.Tensor] = {}
    for name, shape in declare().items():
        kind = name.rsplit(".", 1)[1]
        if kind == "weight" and len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            a = rng.normal(0, math.sqrt(1 / fan_in), shape)  # keeps activations O(1) through 16 blocks
        elif kind == "running_var":
            a = rng.uniform(0.5, 1.5, shape)
        elif kind == "weight" and ".prelu" in name:
            a = rng.uniform(0.1, 0.3, shape)
        elif kind == "weight":  # batch-norm gamma
            a = rng.normal(1, 0.1, shape)
        else:  # biases, beta, running means
            a = rng.normal(0, 0.1, shape)
        out[name] = torch.from_numpy(a.astype(np.float32))
        if kind == "running_var":
            out[name.replace("running_var", "num_batches_tracked")] = torch.tensor(1000)
    return out


def np_forward(x: np.ndarray, sd: dict[str, torch.Tensor]) -> np.ndarray:
    """(3, 112, 112) → 512, float64, TensorFlow "same" padding spelled out."""
    p = {k: v.double().numpy() for k, v in sd.items()}

    def same(a: np.ndarray, k: int, s: int) -> np.ndarray:
        pads = []
        for n in a.shape[1:]:
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return np.pad(a, ((0, 0), *pads))

    def conv(name: str, a: np.ndarray, k: int, s: int = 1, depthwise: bool = False, pad: bool = True) -> np.ndarray:
        w = p[f"{name}.weight"]
        a = same(a, k, s) if pad else a
        win = np.lib.stride_tricks.sliding_window_view(a, (k, k), axis=(1, 2))[:, ::s, ::s]  # C, H, W, k, k
        y = np.einsum("chwij,cij->chw", win, w[:, 0]) if depthwise else np.einsum("chwij,ocij->ohw", win, w)
        return y + p[f"{name}.bias"][:, None, None] if f"{name}.bias" in p else y

    def bn(name: str, a: np.ndarray) -> np.ndarray:
        g, b, m, v = (p[f"{name}.{k}"] for k in ("weight", "bias", "running_mean", "running_var"))
        shape = (-1,) + (1,) * (a.ndim - 1)
        return (a - m.reshape(shape)) / np.sqrt(v.reshape(shape) + 1e-3) * g.reshape(shape) + b.reshape(shape)

    def prelu(name: str, a: np.ndarray) -> np.ndarray:
        return np.where(a > 0, a, a * p[f"{name}.weight"][:, None, None])

    def cbn(name: str, a: np.ndarray, k: int, s: int = 1, dw: bool = False, act: bool = True, pad: bool = True):
        y = bn(f"{name}.bn", conv(f"{name}.conv", a, k, s, dw, pad))
        return prelu(f"{name}.prelu", y) if act else y

    def ghost(name: str, a: np.ndarray, act: bool) -> np.ndarray:
        primary = cbn(f"{name}.primary", a, 1, act=act)
        return np.concatenate([primary, cbn(f"{name}.cheap", primary, 3, dw=True, act=act)])

    a = cbn("stem", x, 3)
    for i, (k, s, _, out, se) in enumerate(BLOCKS):
        n = f"bottlenecks.{i}"
        res = a
        if out != a.shape[0] or s != 1:
            res = cbn(f"{n}.shortcut.1", cbn(f"{n}.shortcut.0", a, k, s, dw=True, act=False), 1, act=False, pad=False)
        y = ghost(f"{n}.ghost_1", a, True)
        if s > 1:
            y = cbn(f"{n}.downsample", y, k, s, dw=True, act=False)
        if se:
            g = y.mean(axis=(1, 2), keepdims=True)
            g = conv(f"{n}.se.expand", prelu(f"{n}.se.prelu", conv(f"{n}.se.reduce", g, 1, pad=False)), 1, pad=False)
            y = y * np.clip(0.2 * g + 0.5, 0, 1)
        a = res + ghost(f"{n}.ghost_2", y, False)
    a = cbn("tail", a, 1, pad=False)
    a = conv("gdc_conv", bn("gdc_bn", conv("gdc_dw", a, 7, depthwise=True, pad=False)), 1, pad=False)
    return bn("pre_embedding", a.reshape(-1))


def test_layout_and_parameter_count() -> None:
    layout = declare()
    # every stored value (batch-norm statistics included, as Keras counts): 4,088,812 for W1.3 S1
    assert sum(math.prod(s) for s in layout.values()) == 4_088_812
    assert layout["stem.conv.weight"] == (20, 3, 3, 3)
    assert layout["bottlenecks.1.shortcut.0.conv.weight"] == (20, 1, 3, 3)
    assert layout["bottlenecks.1.downsample.conv.weight"] == (64, 1, 3, 3)
    assert layout["bottlenecks.3.se.reduce.weight"] == (24, 92, 1, 1)
    assert layout["bottlenecks.15.ghost_2.cheap.conv.weight"] == (104, 1, 3, 3)
    assert layout["gdc_dw.weight"] == (664, 1, 7, 7) and layout["pre_embedding.running_var"] == (512,)
    assert "bottlenecks.2.shortcut.0.conv.weight" not in layout  # 32 → 32, stride 1: identity shortcut


def test_forward_equals_numpy(tmp_path: Path) -> None:
    sd = random_state(1)
    path = tmp_path / "ghostfacenet_v1.pth"
    torch.save(sd, path)
    rec = create_recognizer("GhostFaceNet", weights={FILE: str(path)})
    crops = np.random.default_rng(3).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)  # BGR, as aligned
    got = rec.embed(crops)
    assert got.shape == (2, 512) and rec.runs_on == "cpu"
    for i in range(2):
        x = (crops[i, ..., ::-1].astype(np.float64) - 127.5) / 128  # the registry's RGB and normalisation
        want = np_forward(x.transpose(2, 0, 1), sd)
        assert np.abs(got[i] - want).max() <= 1e-4 * np.abs(want).max()


def test_bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sd = random_state()
    renamed = dict(sd)
    renamed["stem.conv.kernel"] = renamed.pop("stem.conv.weight")
    cases = {"renamed": renamed, "reshaped": sd | {"tail.conv.weight": torch.zeros(664, 208, 3, 3)}}
    messages = {"renamed": r"missing \['stem.conv.weight'\].*unexpected \['stem.conv.kernel'\]", "reshaped": r"tail.conv.weight is"}
    for case, state in cases.items():
        path = tmp_path / f"{case}.pth"
        torch.save(state, path)
        with pytest.raises(WeightsFormatError, match=rf"{case}\.pth.*{messages[case]}"):
            create_recognizer("ghostfacenet", weights={FILE: str(path)}).embed(np.zeros((1, 112, 112, 3), np.uint8))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(WeightsFormatError, match=r"junk\.pth.*not a readable PyTorch state dict"):
        create_recognizer("ghostfacenet", weights={FILE: str(junk)}).embed(np.zeros((1, 112, 112, 3), np.uint8))
    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    with pytest.raises(WeightsMissingError, match=r"(?s)ghostfacenet_v1\.pth.*deepface_models/releases"):
        create_recognizer("ghostfacenet").embed(np.zeros((1, 112, 112, 3), np.uint8))
