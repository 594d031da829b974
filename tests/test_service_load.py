"""32 parallel clients against /v1/represent and /v1/verify for 30 s (``FACEPRINT_SOAK_SECONDS`` to change):
no errors, every answer equal to the single-request answer, the server's memory flat."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from tests.conftest import IDENTITIES, needs_faces
from tests.service_helpers import Server, start_server, stop_server

httpx = pytest.importorskip("httpx", reason="httpx not installed")
psutil = pytest.importorskip("psutil", reason="psutil not installed")
pytestmark = needs_faces
CLIENTS = 32
SECONDS = float(os.environ.get("FACEPRINT_SOAK_SECONDS", "30"))
PHOTOS = ("img1.jpg", "img2.jpg", "img3.jpg", "img5.jpg")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    s = start_server(tmp_path_factory.mktemp("service_load"), workers=4, queue_size=64, batch_wait_ms=5.0)
    yield s
    stop_server(s)


def test_parallel_clients_equal_answers_flat_memory(server: Server) -> None:
    import cv2

    data = {}
    for p in PHOTOS:  # 640 px copies: more requests per second, so the run reaches a steady state on 2 cores
        img = cv2.imread(str(IDENTITIES / p))
        f = 640 / max(img.shape[:2])
        data[p] = cv2.imencode(".jpg", cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA))[1].tobytes()
    pairs = [(PHOTOS[i], PHOTOS[j]) for i in range(len(PHOTOS)) for j in range(i + 1, len(PHOTOS))]
    h = server.auth("read")
    with httpx.Client(base_url=server.url, headers=h, timeout=120) as c:  # single-request answers
        ref_rep = {p: np.array(c.post("/v1/represent", files={"img": d}).json()["faces"][0]["embedding"]) for p, d in data.items()}
        ref_ver = {pq: c.post("/v1/verify", files={"img1": data[pq[0]], "img2": data[pq[1]]}).json() for pq in pairs}

    proc = psutil.Process(server.proc.pid)
    stop = time.monotonic() + SECONDS / 3  # warm-up: every client at full concurrency, not measured
    failures: list[str] = []
    counts = {"represent": 0, "verify": 0}
    max_diff = [0.0]
    lock = threading.Lock()

    def client(k: int) -> None:
        with httpx.Client(base_url=server.url, headers=h, timeout=120) as c:
            i = k
            while time.monotonic() < stop:
                i += 1
                try:
                    if i % 2:
                        p = PHOTOS[i % len(PHOTOS)]
                        r = c.post("/v1/represent", files={"img": data[p]})
                        got = np.array(r.json()["faces"][0]["embedding"]) if r.status_code == 200 else None
                        ok = got is not None and np.allclose(got, ref_rep[p], atol=1e-6)
                        diff = float(np.abs(got - ref_rep[p]).max()) if got is not None else 0.0
                        kind = "represent"
                    else:
                        a, b = pairs[i % len(pairs)]
                        r = c.post("/v1/verify", files={"img1": data[a], "img2": data[b]})
                        want = ref_ver[(a, b)]
                        j = r.json() if r.status_code == 200 else {}
                        ok = r.status_code == 200 and j["verified"] == want["verified"] and abs(j["distance"] - want["distance"]) <= 1e-6
                        diff = abs(j.get("distance", 0.0) - want["distance"])
                        kind = "verify"
                except httpx.HTTPError as exc:
                    ok, r, kind, diff = False, None, "error", 0.0
                    failures.append(f"{type(exc).__name__}: {exc}")
                with lock:
                    counts[kind] = counts.get(kind, 0) + 1
                    max_diff[0] = max(max_diff[0], diff)
                    if not ok and r is not None:
                        failures.append(f"{kind} {r.status_code}: {r.text[:200]}")

    def run() -> list[tuple[float, float]]:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        rss: list[tuple[float, float]] = []
        t0 = time.monotonic()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            rss.append((time.monotonic() - t0, proc.memory_info().rss / 2**20))
            time.sleep(0.25)
        for t in threads:
            t.join()
        return rss

    warm = run()
    counts.update(represent=0, verify=0)
    stop = time.monotonic() + SECONDS
    rss = run()
    assert not failures, failures[:5]
    total = counts["represent"] + counts["verify"]
    assert total >= 2 * CLIENTS  # every client got answers
    first = max(m for t, m in rss if t <= SECONDS / 3)
    last = max(m for t, m in rss if t >= 2 * SECONDS / 3)
    print(f"\nsoak: {CLIENTS} clients x {SECONDS:g} s after {SECONDS / 3:g} s warm-up: {counts}, {total / SECONDS:.1f} req/s; "
          f"max |diff| vs single {max_diff[0]:.2e}; RSS {warm[0][1]:.0f} MB at start, max {first:.0f} MB in the first "
          f"third, {last:.0f} MB in the last third")
    assert last - first < 50, f"server memory grew {last - first:.0f} MB during the run: {rss}"
    # how much micro-batching merged (printed, not asserted: it depends on the machine's timing; the
    # merging itself is tested deterministically in test_service_units.py)
    text = httpx.get(server.url + "/metrics", headers=server.auth("admin")).text
    stat = dict(ln.rsplit(" ", 1) for ln in text.splitlines() if ln.startswith("faceprint_batch_size_"))
    count, le2 = float(stat["faceprint_batch_size_count"]), float(stat['faceprint_batch_size_bucket{le="2"}'])
    mean = float(stat["faceprint_batch_size_sum"]) / count
    print(f"recognizer forward passes: {count:.0f}, mean {mean:.2f} faces, {count - le2:.0f} with more than 2")
    assert count > 0
    assert httpx.get(server.url + "/healthz").status_code == 200
