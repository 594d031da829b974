"""Logic of the service's parts on their own (beside the real-server tests): micro-batcher, rate limit,
keys file, config, error mapping."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service needs fastapi (pip install 'faceprint[serve]')")

from faceprint import errors as fe
from faceprint.service.auth import KeyStore, RateLimiter
from faceprint.service.batching import MicroBatcher, Overloaded
from faceprint.service.config import load_config
from faceprint.service.errors import from_exception


def _embed_rows(calls: list[int], delay: float = 0.0):
    def embed(crops: list[np.ndarray]) -> np.ndarray:
        calls.append(len(crops))
        time.sleep(delay)
        return np.stack([np.full(4, float(c.flat[0]), np.float32) for c in crops])

    return embed


def test_batcher_merges_concurrent_requests_in_order() -> None:
    calls: list[int] = []
    b = MicroBatcher(_embed_rows(calls, 0.05), max_batch=64, max_wait=0.02)
    try:
        futures = []
        blocker = b.submit([np.zeros((2, 2))])  # occupies the thread (or gathers the others within 20 ms)
        for i in range(10):
            futures.append((i, b.submit([np.full((2, 2), i), np.full((2, 2), 100 + i)])))
        blocker.result()
        for i, f in futures:
            out = f.result(timeout=5)
            assert out[:, 0].tolist() == [i, 100 + i]  # each request gets its own rows back
        assert max(calls) >= 20  # the ten requests that waited went through as one forward pass
    finally:
        b.close()


def test_batcher_respects_max_batch_and_wait() -> None:
    calls: list[int] = []
    b = MicroBatcher(_embed_rows(calls), max_batch=4, max_wait=0.001)
    try:
        fs = [b.submit([np.zeros((1, 1))] * 3) for _ in range(5)]
        for f in fs:
            assert f.result(timeout=5).shape == (3, 4)
        assert all(n <= 4 for n in calls)
    finally:
        b.close()


def test_batcher_bounded_queue_and_errors() -> None:
    gate = threading.Event()

    def slow(crops: list[np.ndarray]) -> np.ndarray:
        gate.wait(5)
        if crops[0].flat[0] < 0:
            raise fe.ImageDecodeError("bad crop")
        return np.zeros((len(crops), 4), np.float32)

    b = MicroBatcher(slow, max_batch=2, max_wait=0.0, max_queue=4)
    try:
        first = b.submit([np.zeros((1, 1))] * 2)  # taken by the thread, which waits at the gate
        time.sleep(0.05)
        queued = b.submit([np.zeros((1, 1))] * 4)
        with pytest.raises(Overloaded) as info:
            b.submit([np.zeros((1, 1))])
        assert info.value.status == 503 and info.value.headers["Retry-After"] == "1"
        bad = None
        gate.set()
        first.result(timeout=5), queued.result(timeout=5)
        bad = b.submit([np.full((1, 1), -1.0)])
        with pytest.raises(fe.ImageDecodeError):
            bad.result(timeout=5)
        assert b.submit([np.zeros((1, 1))]).result(timeout=5).shape == (1, 4)  # the thread survived
    finally:
        gate.set()
        b.close()


def test_batcher_does_not_wait_when_no_other_request_is_in_progress() -> None:
    calls: list[int] = []
    b = MicroBatcher(_embed_rows(calls), max_batch=32, max_wait=2.0, in_flight=lambda: 1)
    try:
        t = time.perf_counter()
        b.submit([np.zeros((1, 1))]).result(timeout=5)
        assert time.perf_counter() - t < 1.0  # not the 2 s max_wait
    finally:
        b.close()


def test_batcher_embeds_a_lone_request_in_the_calling_thread() -> None:
    threads: list[int] = []

    def embed(crops: list[np.ndarray]) -> np.ndarray:
        threads.append(threading.get_ident())
        return np.zeros((len(crops), 4), np.float32)

    in_flight = [1]
    b = MicroBatcher(embed, max_batch=32, max_wait=0.0, in_flight=lambda: in_flight[0])
    try:
        fut = b.submit([np.zeros((1, 1))])
        assert fut.done() and threads == [threading.get_ident()]  # no hop to the batcher thread, no wait
        in_flight[0] = 2  # another request in progress: the batcher thread takes it, to merge them
        assert b.submit([np.zeros((1, 1))]).result(timeout=5).shape == (1, 4)
        assert threads[1] != threading.get_ident()
    finally:
        b.close()


def test_batcher_off_embeds_each_request_alone() -> None:
    calls: list[int] = []
    b = MicroBatcher(_embed_rows(calls), enabled=False)
    assert b.submit([np.ones((1, 1))] * 3).result().shape == (3, 4) and calls == [3]


def test_rate_limiter() -> None:
    rl = RateLimiter(3)
    assert [rl.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.take("a")
    assert 19 < wait <= 20.5  # 3 per minute: one more token in 20 s
    assert rl.take("b") == 0.0  # per client
    assert RateLimiter(0).take("a") == 0.0


def test_keystore_hashes_and_revokes(tmp_path) -> None:
    ks = KeyStore(tmp_path / "keys.sqlite")
    secret, rec = ks.create("alice", "write")
    assert ks.check(secret) == rec
    assert secret.split("_", 2)[2].encode() not in (tmp_path / "keys.sqlite").read_bytes()
    assert ks.check(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert ks.check("fp_zz_zz") is None and ks.check("garbage") is None
    assert rec.allows("read") and rec.allows("write") and not rec.allows("admin")
    assert ks.revoke(rec.id) and not ks.revoke(rec.id)
    assert ks.check(secret) is None
    with pytest.raises(fe.ConfigError):
        ks.create("bob", "root")


def test_keystore_answers_from_memory_until_the_file_changes(tmp_path, monkeypatch) -> None:
    ks = KeyStore(tmp_path / "keys.sqlite")
    secret, rec = ks.create("alice", "read")
    lookups: list[str] = []
    real = ks._lookup
    monkeypatch.setattr(ks, "_lookup", lambda *a: lookups.append(a[0]) or real(*a))
    assert ks.check(secret) == rec and ks.check(secret) == rec and ks.check(secret[:-1] + "#") is None
    assert len(lookups) == 2  # the right key once, the wrong one once; the repeat came from memory
    assert KeyStore(tmp_path / "keys.sqlite").revoke(rec.id)  # as `faceprint keys revoke` does, from elsewhere
    assert ks.check(secret) is None and len(lookups) == 3  # the file changed: looked up again, now revoked


def test_config_toml(tmp_path) -> None:
    p = tmp_path / "faceprint.toml"
    p.write_text('[serve]\nport = 9001\nbatch_wait_ms = 2.5\ncors_origins = ["https://a.example"]\n', encoding="utf-8")
    cfg = load_config(p, port=None, workers=8)
    assert cfg.port == 9001 and cfg.batch_wait_ms == 2.5 and cfg.cors_origins == ("https://a.example",) and cfg.workers == 8
    p.write_text("prot = 1\n", encoding="utf-8")
    with pytest.raises(fe.ConfigError, match="unknown setting"):
        load_config(p)
    p.write_text("port = [\n", encoding="utf-8")
    with pytest.raises(fe.ConfigError, match="not valid TOML"):
        load_config(p)
    with pytest.raises(fe.ConfigError):
        load_config(None, anonymous="root")
    with pytest.raises(fe.ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(("exc", "status", "code"), [
    (fe.ImageTooLargeError("too big"), 413, "image-too-large"),
    (fe.UnsupportedImageError("cmyk16"), 415, "unsupported-image"),
    (fe.ImageDecodeError("broken"), 400, "bad-image"),
    (fe.NoFaceError("<bytes>", "mtcnn"), 422, "no-face"),
    (fe.ContractError("other model"), 409, "contract-mismatch"),
    (fe.ConfigError("k < 1"), 400, "invalid-option"),
    (fe.ModelNotFoundError("no such model"), 400, "unknown-model"),
    (fe.WeightsMissingError("/secret/path/file.onnx missing"), 503, "model-unavailable"),
])  # fmt: skip
def test_error_mapping(exc: Exception, status: int, code: str) -> None:
    p = from_exception(exc)
    assert p is not None and p.status == status and p.code == code
    assert "/secret/path" not in p.detail  # server-side files are logged, not sent
    assert from_exception(RuntimeError("bug")) is None


def test_engine_admits_queue_size_requests_then_503() -> None:
    import asyncio

    from faceprint.service.config import ServiceConfig
    from faceprint.service.engine import Engine
    from faceprint.service.metrics import service_metrics

    eng = Engine(ServiceConfig(queue_size=2), service_metrics())

    async def go() -> None:
        async with eng.admit(), eng.admit():
            assert eng.in_flight == 2
            with pytest.raises(Overloaded) as info:
                async with eng.admit():
                    pass
            assert info.value.headers["Retry-After"] == "1" and info.value.code == "overloaded"
        assert eng.in_flight == 0

    try:
        asyncio.run(go())
    finally:
        eng.close()
