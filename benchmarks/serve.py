"""The service under load on loopback: requests/s and p50/p99 latency at several concurrencies for
/v1/represent and /v1/verify, side by side with the library called directly (same threads, same photos),
and with micro-batching off vs on. Run on demand; not a test.

Usage: python benchmarks/serve.py [--seconds 10] [--concurrency 1,8,32] [--side 640] [--workers 4] [--rounds 1]

Photos: ../shared/faces/identities (img1, img2, img3, img5), downscaled to ``--side`` px (0 = as is).
deepface's Flask API is not in the table: it cannot run here (no network; its models' weights
download from GitHub on first use, and none are in ../shared/weights).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEPRINT_SHARED", ROOT.parent / "shared"))
PHOTOS = ("img1.jpg", "img2.jpg", "img3.jpg", "img5.jpg")


def load_photos(side: int) -> dict[str, bytes]:
    out = {}
    for p in PHOTOS:
        img = cv2.imread(str(SHARED / "faces" / "identities" / p))
        if img is None:
            sys.exit(f"photo not found: {SHARED / 'faces' / 'identities' / p} (set FACEPRINT_SHARED)")
        if side:
            f = side / max(img.shape[:2])
            img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        out[p] = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m faceprint serve`` in a subprocess on a free loopback port, anonymous read access."""

    def __init__(self, tmp: Path, *, batching: bool, workers: int) -> None:
        import httpx

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        cfg = tmp / f"serve-{int(batching)}.toml"
        cfg.write_text(f'[serve]\nport = {port}\nanonymous = "read"\nrate_limit_per_minute = 0\nworkers = {workers}\n'
                       f"batching = {'true' if batching else 'false'}\nqueue_size = 256\n", encoding="utf-8")  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FACEPRINT_OFFLINE": "1", "FACEPRINT_HOME": str(tmp),
               "MALLOC_ARENA_MAX": "2"}  # fmt: skip
        if (SHARED / "weights").is_dir():
            env.setdefault("FACEPRINT_WEIGHTS_PATH", str(SHARED / "weights"))
        self.log = open(tmp / f"serve-{int(batching)}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "faceprint", "serve", "--config", str(cfg)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        sys.exit("the server did not start; see " + self.log.name)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def measure(call: Callable[[int], None], concurrency: int, seconds: float) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, errors) of ``concurrency`` loops calling ``call(i)`` for ``seconds``."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    for i in range(min(concurrency, 4)):  # warm the path (first runs allocate buffers)
        call(i)
    stop = time.perf_counter() + seconds

    def loop(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                call(i)
            except Exception:
                with lock:
                    errors[0] += 1
            with lock:
                lat.append(time.perf_counter() - t)
            i += concurrency

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(loop, range(concurrency)))
    wall = time.perf_counter() - t0
    a = np.array(lat) * 1000
    out = len(lat) / wall, float(np.percentile(a, 50)), float(np.percentile(a, 99)), errors[0]
    print(f"  concurrency {concurrency}: {out[0]:.1f} req/s, p50 {out[1]:.0f} ms, p99 {out[2]:.0f} ms, {out[3]} errors",
          flush=True)  # fmt: skip
    return out


def server_calls(url: str, photos: dict[str, bytes], pairs: list[tuple[str, str]]) -> dict[str, Callable[[int], None]]:
    """/v1/represent and /v1/verify calls on one httpx.Client per client thread (kept alive, as a real client)."""
    import httpx

    names = list(photos)
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=url, timeout=120)
        return local.c

    def rep(i: int) -> None:
        client().post("/v1/represent", files={"img": photos[names[i % len(names)]]}).raise_for_status()

    def ver(i: int) -> None:
        a, b = pairs[i % len(pairs)]
        client().post("/v1/verify", files={"img1": photos[a], "img2": photos[b]}).raise_for_status()

    return {"represent": rep, "verify": ver}


def measure_paired(modes: dict[str, dict[str, Callable[[int], None]]], rounds: int) -> dict[tuple[str, str], tuple]:
    """Concurrency 1, one call of each mode in turn, so that a change in the machine's load hits all modes
    alike: (route, mode) -> (median ms, median of the per-round ratio to the library's call)."""
    out = {}
    for route in ("represent", "verify"):
        times: dict[str, list[float]] = {m: [] for m in modes}
        names = list(modes)
        for i in range(rounds + 4):
            for mode in names[i % len(names) :] + names[: i % len(names)]:  # each mode first, second, third in turn
                t = time.perf_counter()
                modes[mode][route](i)
                if i >= 4:  # the first rounds warm the path
                    times[mode].append(time.perf_counter() - t)
        lib = np.array(times["library"])
        for mode, ts in times.items():
            out[(route, mode)] = (float(np.median(ts)) * 1000, float(np.median(np.array(ts) / lib)))
    return out


def server_side_ms(srv: Server, rounds: int) -> dict[str, float]:
    """Median time the server's access log gives (request in → response out, inside uvicorn) for the paired
    calls: the rest of a client's latency is the client, the connection and uvicorn's own parsing."""
    text = Path(srv.log.name).read_text(errors="replace")
    out = {}
    for route in ("represent", "verify"):
        ms = [float(m) for m in re.findall(rf"POST /v1/{route} 200 ([0-9.]+) ms", text)][4 : rounds + 4]
        if ms:
            out[route] = float(np.median(ms))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="per cell")
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--side", type=int, default=640, help="downscale photos to this long side (0: as is)")
    ap.add_argument("--workers", type=int, default=4, help="the server's worker threads")
    ap.add_argument("--rounds", type=int, default=1, help="measure every cell this many times; keep each mode's best")
    ap.add_argument("--paired", type=int, default=100,
                    help="concurrency 1, call by call: this many rounds of one call per mode in turn (0: skip)")  # fmt: skip
    args = ap.parse_args()
    from faceprint import Pipeline

    levels = [int(x) for x in args.concurrency.split(",")]
    photos = load_photos(args.side)
    names = list(photos)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; photos {len(photos)} "
          f"at {args.side or 'full'} px; {args.seconds:g} s per cell, {args.rounds} round(s); server workers "
          f"{args.workers}")  # fmt: skip
    pipe = Pipeline("mtcnn", "dlib")
    pipe.represent(photos[names[0]])
    modes: dict[str, dict[str, Callable[[int], None]]] = {
        "library": {"represent": lambda i: pipe.represent(photos[names[i % len(names)]]),
                    "verify": lambda i: pipe.verify(*(photos[x] for x in pairs[i % len(pairs)]))},
    }  # fmt: skip
    best: dict[tuple[str, int, str], tuple[float, float, float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="faceprint-bench-") as tmp:
        servers = [Server(Path(tmp), batching=b, workers=args.workers) for b in (False, True)]
        try:
            for srv, on in zip(servers, ("off", "on")):
                modes[f"server, batching {on}"] = server_calls(srv.url, photos, pairs)
            if args.paired:
                paired = measure_paired(modes, args.paired)
                inside = {on: server_side_ms(srv, args.paired) for srv, on in zip(servers, ("off", "on"))}
            # the three modes of a cell run back to back (both servers stay up, idle when not measured), so a
            # change in the machine's load between cells shifts all three alike
            for _ in range(args.rounds):
                for route in ("represent", "verify"):
                    for c in levels:
                        for mode, calls in modes.items():
                            print(f"{mode} {route}", flush=True)
                            got = measure(calls[route], c, args.seconds)
                            if (route, c, mode) not in best or got[0] > best[(route, c, mode)][0]:
                                best[(route, c, mode)] = got
        finally:
            for srv in servers:
                srv.stop()

    print(f"\n{'route':<10} {'conc':>4}  {'mode':<22} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'err':>4}  "
          f"{'p50 vs lib':>10} {'req/s vs lib':>12} {'req/s vs off':>12}")  # fmt: skip
    for (route, c, mode), (rps, p50, p99, err) in best.items():
        b, o = best[(route, c, "library")], best[(route, c, "server, batching off")]
        vs_off = f"{rps / o[0]:.2f}x" if mode.endswith(" on") else ""
        print(f"{route:<10} {c:>4}  {mode:<22} {rps:>7.1f} {p50:>8.1f} {p99:>8.1f} {err:>4}  {p50 / b[1]:>9.2f}x "
              f"{rps / b[0]:>11.2f}x {vs_off:>12}")  # fmt: skip
    if args.paired:
        print(f"\nconcurrency 1, the modes called in turn ({args.paired} rounds): median latency, and the median of "
              "each round's ratio to the library's call")  # fmt: skip
        for (route, mode), (p50, ratio) in paired.items():
            own = inside.get(mode.rsplit(" ", 1)[-1], {}).get(route)
            side = f"   of which inside the server (its access log) {own:.1f} ms" if own is not None else ""
            print(f"{route:<10} {mode:<22} {p50:>8.1f} ms  {ratio:>6.3f}x{side}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end. deepface's Flask API: not run (offline; its weights "
          "download from GitHub on first use).")


if __name__ == "__main__":
    main()
