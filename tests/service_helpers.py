"""Start the real service (``python -m faceprint serve``) on 127.0.0.1 at a free port, with keys of each scope."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    keys: dict[str, str]
    db: Path

    def auth(self, scope: str = "read") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toml(values: dict[str, Any]) -> str:
    def lit(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(lit(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "[serve]\n" + "".join(f"{k} = {lit(v)}\n" for k, v in values.items())


def start_server(tmp: Path, **settings: Any) -> Server:
    pytest.importorskip("fastapi", reason="the service needs fastapi (pip install 'faceprint[serve]')")
    pytest.importorskip("uvicorn", reason="the service needs uvicorn (pip install 'faceprint[serve]')")
    from faceprint.service.auth import KeyStore

    tmp.mkdir(parents=True, exist_ok=True)
    keys_file = tmp / "keys.sqlite"
    store = KeyStore(keys_file)
    keys = {scope: store.create(f"test-{scope}", scope)[0] for scope in ("read", "write", "admin")}
    port = free_port()
    db = tmp / "galleries"
    values = {"host": "127.0.0.1", "port": port, "db": str(db), "keys_file": str(keys_file),
              "rate_limit_per_minute": 1_000_000, "workers": 4, **settings}  # fmt: skip
    cfg = tmp / "faceprint.toml"
    cfg.write_text(_toml(values), encoding="utf-8")
    # MALLOC_ARENA_MAX: glibc's per-thread arenas otherwise fragment under many worker threads (as in the Dockerfile)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FACEPRINT_OFFLINE": "1", "FACEPRINT_HOME": str(tmp / "home"),
           "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "faceprint", "serve", "--config", str(cfg)], stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=tmp)  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", proc, log, keys, db)
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"the server did not become ready:\n{log.read_text(errors='replace')[-3000:]}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """A problem+json answer with this status and stable code, a request id matching the header, no trace."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["code"] == code, body
    assert body["status"] == status and body["type"] == f"/problems/{code}" and body["title"] and body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body
