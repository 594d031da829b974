"""The command line, run as a user would: a subprocess, exit codes, JSON, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from .conftest import IDENTITIES, SHARED_WEIGHTS, needs_faces


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faceprint", *args], capture_output=True, text=True, timeout=300)


@needs_faces
def test_verify_readable_and_json() -> None:
    a, b = str(IDENTITIES / "img1.jpg"), str(IDENTITIES / "img2.jpg")
    r = _run("verify", a, b)
    assert r.returncode == 0, r.stderr
    assert "SAME PERSON" in r.stdout and "threshold 0.5880" in r.stdout
    r = _run("verify", a, str(IDENTITIES / "img3.jpg"), "--json", "--metric", "cosine", "--detector", "hog")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["verified"] is False and data["metric"] == "cosine" and data["detector"] == "dlib_hog"


@needs_faces
def test_device_that_is_not_there_is_an_error_not_a_fallback() -> None:
    import onnxruntime as ort

    a, b = str(IDENTITIES / "img1.jpg"), str(IDENTITIES / "img2.jpg")
    r = _run("verify", a, b, "--device", "cuda", "--detector", "hog")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "runs on the CPU only" in r.stderr
    assert "--detector-device cpu" in r.stderr
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        r = _run("verify", a, b, "--device", "cuda")
        assert r.returncode != 0 and "Traceback" not in r.stderr
        assert "cuda" in r.stderr and "onnxruntime-gpu" in r.stderr
    r = _run("verify", a, b, "--device", "auto", "--detector", "hog", "--detector-device", "cpu", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verified"] is True


@needs_faces
def test_represent_and_detect(tmp_path: Path) -> None:
    r = _run("represent", str(IDENTITIES / "couple.jpg"), "--faces", "all", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data) == 2 and len(data[0]["embedding"]) == 128
    out = tmp_path / "boxes.png"
    r = _run("detect", str(IDENTITIES / "couple.jpg"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "2 face(s)" in r.stdout
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (2280, 1588)
        assert np.asarray(im).std() > 10


def test_bad_input_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    r = _run("verify", str(bad), str(bad))
    assert r.returncode == 2
    assert str(bad) in r.stderr and "Traceback" not in r.stderr
    r = _run("represent", str(tmp_path / "missing.jpg"))
    assert r.returncode == 2 and "no such file" in r.stderr
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), (120, 120, 120)).save(blank)
    r = _run("represent", str(blank))
    assert r.returncode == 2 and "found no face" in r.stderr
    r = _run("verify", str(blank), str(blank), "--model", "nonsense")
    assert r.returncode == 2 and "unknown recognizer" in r.stderr


def test_models_list() -> None:
    r = _run("models", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = {m["name"] for m in json.loads(r.stdout)}
    assert {"dlib", "mtcnn", "dlib_hog", "dlib_mmod", "opencv_haar"} <= names


def test_import_is_light() -> None:
    code = "import sys, faceprint; heavy = [m for m in ('cv2', 'dlib', 'onnxruntime', 'PIL') if m in sys.modules]; print(heavy)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_models_verify_and_download(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "FACEPRINT_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "faceprint", "models", "verify", "dlib", "--json"],
                       capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert {row["state"] for row in json.loads(r.stdout)} == {"ok"}
    # a truncated copy where the user keeps weights is reported, with the exit code saying so
    bad = tmp_path / "w"
    bad.mkdir()
    (bad / "face_detection_yunet_2023mar.onnx").write_bytes(b"not the model")
    env["FACEPRINT_WEIGHTS_PATH"] = str(bad)
    r = subprocess.run([sys.executable, "-m", "faceprint", "models", "verify", "yunet"],
                       capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert r.returncode == 1 and "truncated" in r.stdout and "1 damaged" in r.stdout
    # offline, a download names the file, the URL and where to put it
    r = subprocess.run([sys.executable, "-m", "faceprint", "models", "download", "yunet"],
                       capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert r.returncode == 1 and "Put it at" in r.stderr and "yunet_s_640_640.onnx" in r.stderr
    if SHARED_WEIGHTS.is_dir():
        env["FACEPRINT_WEIGHTS_PATH"] = str(SHARED_WEIGHTS)
        r = subprocess.run([sys.executable, "-m", "faceprint", "models", "download", "yunet", "scrfd", "--json"],
                           capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert [Path(row["path"]).parent for row in json.loads(r.stdout)] == [SHARED_WEIGHTS] * 2
