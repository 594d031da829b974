"""Downloads never splice two files, never block on an oversized .part, cap unpinned sizes, and fail at
once when offline or unreachable, before any detection runs. Served from a loopback HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import WeightsChecksumError, WeightsMissingError
from faceprint.models import weights
from faceprint.models.specs import WeightFile

OLD = np.random.default_rng(1).bytes(200_000)
NEW = np.random.default_rng(2).bytes(200_000)


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        body, tag = srv.body, f'"{hashlib.sha256(srv.body).hexdigest()[:16]}"'  # type: ignore[attr-defined]
        srv.requests.append({k: self.headers.get(k) for k in ("Range", "If-Range")})  # type: ignore[attr-defined]
        rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        start = int(rng.split("=")[1].split("-")[0]) if rng and (if_range is None or if_range == tag) else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("ETag", tag)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[http.server.ThreadingHTTPServer]:
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path))
    monkeypatch.delenv("FACEPRINT_OFFLINE", raising=False)
    monkeypatch.delenv("FACEPRINT_WEIGHTS_PATH", raising=False)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.body, srv.requests = OLD, []  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _wf(srv: http.server.ThreadingHTTPServer, name: str, *, pinned: bool) -> WeightFile:
    url = f"http://127.0.0.1:{srv.server_address[1]}/{name}"
    if pinned:
        return WeightFile(f"dl/{name}", hashlib.sha256(OLD).hexdigest(), len(OLD), url)
    return WeightFile(f"dl/{name}", None, None, url)


def _part(tmp_path: Path, name: str) -> Path:
    p = tmp_path / "weights" / "dl" / f"{name}.part"
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def test_oversized_part_is_discarded_and_restarted(server, tmp_path: Path) -> None:
    _part(tmp_path, "a.bin").write_bytes(OLD + b"tail of something else")
    got = weights.download(_wf(server, "a.bin", pinned=True), retries=1)
    assert got.read_bytes() == OLD and server.requests[-1]["Range"] is None


def test_unpinned_resume_never_splices(server, tmp_path: Path) -> None:
    part = _part(tmp_path, "b.bin")
    part.write_bytes(NEW[:50_000])  # a partial file of another version, no ETag recorded
    assert weights.download(_wf(server, "b.bin", pinned=False), retries=1).read_bytes() == OLD
    assert server.requests[-1]["Range"] is None
    # an interrupted download with an ETag: resumed only while the server's file is unchanged
    part.write_bytes(OLD[:70_000])
    part.with_name("b.bin.part.etag").write_text(f'"{hashlib.sha256(OLD).hexdigest()[:16]}"')
    assert weights.download(_wf(server, "b.bin", pinned=False), retries=1).read_bytes() == OLD
    assert server.requests[-1]["Range"] == "bytes=70000-"
    part.write_bytes(OLD[:70_000])
    part.with_name("b.bin.part.etag").write_text(f'"{hashlib.sha256(OLD).hexdigest()[:16]}"')
    server.body = NEW  # the file changed on the server meanwhile
    assert weights.download(_wf(server, "b.bin", pinned=False), retries=1).read_bytes() == NEW


def test_unpinned_size_cap(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "MAX_UNPINNED_BYTES", 100_000)
    with pytest.raises(WeightsChecksumError, match="more than"):
        weights.download(_wf(server, "c.bin", pinned=False), retries=1)
    assert not (tmp_path / "weights" / "dl" / "c.bin").exists()


def test_unreachable_or_offline_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path))
    monkeypatch.delenv("FACEPRINT_WEIGHTS_PATH", raising=False)
    slept: list[float] = []
    monkeypatch.setattr(weights.time, "sleep", slept.append)
    wf = WeightFile("dl/d.bin", None, None, "http://127.0.0.1:1/d.bin")  # nothing listens on port 1
    monkeypatch.delenv("FACEPRINT_OFFLINE", raising=False)
    with pytest.raises(WeightsMissingError, match="download failed"):
        weights.resolve(wf)
    assert slept == []  # refused: no retries with back-off
    monkeypatch.setenv("FACEPRINT_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(WeightsMissingError, match="FACEPRINT_OFFLINE"):
        weights.download(wf)
    assert time.perf_counter() - t0 < 0.5 and slept == []


def test_missing_recognizer_fails_before_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint import Pipeline
    from faceprint.models.registry import find

    spec = find("arcface_mbf")
    if any(weights.find_local(wf) for wf in spec.files):
        pytest.skip("arcface_mbf's weights are present here; the test needs them missing")
    pipe = Pipeline("opencv_haar", "arcface_mbf")
    calls: list[object] = []
    real = pipe.detector.detect
    monkeypatch.setattr(pipe.detector, "detect", lambda img: calls.append(img) or real(img))
    img = np.zeros((120, 120, 3), np.uint8)
    for run in (lambda: pipe.verify(img, img, threshold=0.5), lambda: pipe.represent(img), lambda: pipe.represent_batch([img])):
        with pytest.raises(WeightsMissingError, match="w600k_mbf"):
            run()
    assert calls == []  # no detector work was wasted before the missing file was found
