"""The pixel limit holds for every input kind and every entry point; exports, messages and CLI options
are what the README promises."""

from __future__ import annotations

import argparse
import base64
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import faceprint
from faceprint.errors import ConfigError, FaceprintError, ImageError, ImageTooLargeError, WeightsFormatError
from tests.hardening_helpers import _png_header_only

LIMIT = 10_000  # the test image below has 20,000 pixels


def _inputs(tmp_path: Path) -> dict[str, object]:
    arr = np.random.default_rng(0).integers(0, 255, (100, 200, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    data = buf.getvalue()
    (tmp_path / "big.png").write_bytes(data)
    return {"path": str(tmp_path / "big.png"), "pathlike": tmp_path / "big.png", "bytes": data,
            "base64": base64.b64encode(data).decode(), "data_uri": "data:image/png;base64," + base64.b64encode(data).decode(),
            "array": arr, "float_array": arr.astype(np.float32) / 255, "grey_array": arr[:, :, 0],
            "pil": Image.fromarray(arr), "pil_palette": Image.fromarray(arr).convert("P")}  # fmt: skip


def test_pixel_limit_every_input_kind(tmp_path: Path) -> None:
    for kind, item in _inputs(tmp_path).items():
        with pytest.raises(ImageTooLargeError, match="exceeds the limit of 10,000"):
            faceprint.load_image(item, max_pixels=LIMIT)
        assert faceprint.load_image(item, max_pixels=20_000).pixels.shape == (100, 200, 3), kind
    huge = np.broadcast_to(np.uint8(0), (20_000, 20_000, 3))  # refused from its shape: nothing is copied
    with pytest.raises(ImageTooLargeError):
        faceprint.load_image(huge)
    with pytest.raises(ImageTooLargeError):  # the header says 900 Mpx: refused before any pixel is decoded
        faceprint.load_image(_png_header_only(30_000, 30_000))
    with pytest.raises(ConfigError):
        faceprint.load_image(b"x", max_pixels=0)


def test_max_pixels_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from faceprint.cli import main
    from faceprint.search import Gallery

    img = _inputs(tmp_path)["path"]
    calls = {
        "verify": lambda: faceprint.verify(img, img, max_pixels=LIMIT),
        "represent": lambda: faceprint.represent(img, max_pixels=LIMIT),
        "extract_faces": lambda: faceprint.extract_faces(img, max_pixels=LIMIT),
        "detect": lambda: faceprint.detect(img, max_pixels=LIMIT),
        "detect_options": lambda: faceprint.detect(img, max_pixels=LIMIT, min_face_size=30),
        "analyze": lambda: faceprint.analyze(img, max_pixels=LIMIT),
        "landmarks": lambda: faceprint.landmarks(img, max_pixels=LIMIT),
        "stream": lambda: list(faceprint.represent_stream([img], max_pixels=LIMIT, errors="raise")),
        "pipeline": lambda: faceprint.Pipeline(max_pixels=LIMIT).represent(img),
        "pipeline_detect": lambda: faceprint.Pipeline(max_pixels=LIMIT).detect(img),
    }
    for name, call in calls.items():
        with pytest.raises(ImageTooLargeError):
            call()
        assert name
    with Gallery(tmp_path / "g", max_pixels=LIMIT) as g:
        with pytest.raises(ImageTooLargeError):
            g.search(img)
        r = g.add([img], identity="x")
        assert r.indexed == 0 and "exceeds" in r.errors[0][1]
        g.add_vectors(np.ones(128, np.float32), "v")  # not empty: the query itself is refused
    for argv in (["verify", img, img], ["represent", img], ["detect", img], ["analyze", img],
                 ["find", img, "--db", str(tmp_path / "g")]):  # fmt: skip
        assert main([*argv, "--max-pixels", str(LIMIT)]) == 2, argv
        assert "exceeds the limit" in capsys.readouterr().err


def test_errors_exported() -> None:
    for name in ("ImageDecodeError", "ImageNotFoundError", "ImageTooLargeError", "UnsupportedImageError",
                 "StoreError", "DeviceError", "WeightsFormatError", "EmptyGalleryError"):  # fmt: skip
        assert issubclass(getattr(faceprint, name), FaceprintError), name


def test_clear_messages(tmp_path: Path) -> None:
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    cases = {"": "empty path", str(tmp_path / "loop.jpg"): "symlink loop",
             "data:text/plain;base64,aGVsbG8=": "'text/plain' is not an image"}  # fmt: skip
    for item, words in cases.items():
        with pytest.raises(ImageError, match=words):
            faceprint.load_image(item)
    closed = Image.new("RGB", (20, 20))
    closed.close()
    with pytest.raises(ImageError, match="closed"):
        faceprint.load_image(closed)
    pipe = faceprint.Pipeline()
    for bad in ("abc", float("nan"), -1):
        with pytest.raises(ConfigError, match="threshold"):
            pipe.verify(np.zeros((9, 9, 3), np.uint8), np.zeros((9, 9, 3), np.uint8), threshold=bad)


def test_weight_file_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("h5py", reason="Keras weights need h5py")
    torch = pytest.importorskip("torch", reason="the zoo runs on PyTorch")
    from faceprint.cli import main
    from faceprint.formats.keras_h5 import read_zipped_weights
    from faceprint.models.runtime import torch_load

    z = tmp_path / "VGGFace2_DeepFace_weights_val-0.9034.h5.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("inner.h5", b"not hdf5 at all" * 10)
    with pytest.raises(WeightsFormatError) as err:
        read_zipped_weights(str(z))
    assert str(z) in str(err.value) and "inner.h5" in str(err.value) and "BytesIO" not in str(err.value)
    pickled = tmp_path / "pickled.pt"
    torch.save({"w": torch.zeros(2), "extra": argparse.Namespace(a=1)}, pickled)  # not plain tensors
    with pytest.raises(WeightsFormatError) as err:
        torch_load(pickled)
    assert str(pickled) in str(err.value) and "weights_only" not in str(err.value).replace("weights_only=True", "")
    weights_dir = tmp_path / "w"
    weights_dir.mkdir()
    (weights_dir / "deepid_keras_weights.h5").write_bytes(b"corrupt" * 100)
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", str(weights_dir))
    img = tmp_path / "x.png"
    Image.new("RGB", (60, 60)).save(img)
    assert main(["represent", str(img), "--model", "deepid", "--no-enforce"]) == 1  # not 2: not the user's input
    assert "deepid_keras_weights.h5" in capsys.readouterr().err


def _all_actions(parser: argparse.ArgumentParser, path: str = "faceprint") -> list[tuple[str, argparse.Action]]:
    out = []
    for action in parser._actions:  # argparse keeps no public list
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _all_actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            out.append((path, action))
    return out


def test_cli_help_and_option_checks(capsys: pytest.CaptureFixture) -> None:
    from faceprint.cli import _parser, main

    parser = _parser()
    missing = [f"{where} {a.dest}" for where, a in _all_actions(parser) if not a.help]
    assert not missing, f"options without help: {missing}"
    for verb in ("verify", "index", "find", "gallery", "models", "detect"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        out = capsys.readouterr().out
        for word in ("exit codes", "FACEPRINT_OFFLINE", "FACEPRINT_WEIGHTS_PATH", "FACEPRINT_HOME"):
            assert word in out, (verb, word)
    for argv in (["verify", "a", "b", "--threshold", "nan"], ["verify", "a", "b", "--threshold", "-1"],
                 ["detect", "a", "--max-side", "0"], ["detect", "a", "--score-threshold", "5"],
                 ["find", "a", "--db", "x", "--threshold", "inf"], ["verify", "a", "b", "--max-pixels", "0"]):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and "must be" in capsys.readouterr().err, argv


def test_models_verify_and_list(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint.cli import main
    from faceprint.models.registry import specs
    from faceprint.models.weights import find_local

    main(["models", "verify"])
    out = capsys.readouterr().out
    n_missing = sum(find_local(wf) is None for s in specs() for wf in s.files)
    if n_missing:
        assert f"{n_missing} file(s) missing" in out and "every" not in out.splitlines()[-1]
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["models", "list"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 100


def test_interrupted_sync_says_what_was_saved(tmp_path: Path, capsys: pytest.CaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from faceprint.cli import main
    from faceprint.errors import Interrupted
    from faceprint.search import Gallery

    tree = tmp_path / "photos" / "p"
    tree.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (40, 40)).save(tree / f"{i}.png")  # no face: quick, and still a saved file record
    seen: list[str] = []

    def embed(self, source, **kw):
        seen.append(str(source))
        if len(seen) == 3:
            raise KeyboardInterrupt
        raise faceprint.NoFaceError(str(source), "mtcnn")

    monkeypatch.setattr(Gallery, "_embed", embed)
    with Gallery(tmp_path / "g") as g:
        with pytest.raises(Interrupted) as exc:
            g.sync(tree.parent, batch=1)
        assert exc.value.saved == 2 and len(g.store.files()) == 2
    seen.clear()
    assert main(["index", str(tree.parent), "--db", str(tmp_path / "g2")]) == 130
    assert "interrupted: 0 of 4 file(s) saved" in capsys.readouterr().err
