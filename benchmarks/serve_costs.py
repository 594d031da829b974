"""Why micro-batching does (not) pay on this machine: the recognizer's cost per face at batch 1 .. 32,
with ONNX Runtime's intra-op threads at its default (one per core) and at 1, how a request's time
splits between its stages, and the throughput gain micro-batching could give at most (Amdahl).
Run on demand; not a test.

Usage: python benchmarks/serve_costs.py [--repeat 3] [--side 640]

Photos: ../shared/faces/identities (as benchmarks/serve.py). "per face" is one aligned face with the
default flip TTA (two chips through the network), as the service embeds it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import load_photos  # the same photos as the service benchmark


def best_ms(fn: Callable[[], object], repeat: int, min_s: float = 0.3) -> float:
    """The best of ``repeat`` rounds (each at least ``min_s`` long) of the mean time of one call, in ms."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_s:
                break
        best = min(best, dt / n * 1000)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--side", type=int, default=640)
    args = ap.parse_args()
    from faceprint import Pipeline

    photos = list(load_photos(args.side).values())
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; best of {args.repeat}")
    pipes = {t: Pipeline("mtcnn", "dlib", detector_options={"threads": t} if t else None,
                         recognizer_options={"threads": t} if t else None) for t in (0, 1)}  # fmt: skip
    _, _, crops = pipes[0].prepare_faces(photos[0])
    crop = crops[0]

    print("\nrecognizer (dlib ResNet, ONNX Runtime, flip TTA), one thread calling:")
    print(f"{'batch':>5}  {'ms/face, default threads':>24}  {'ms/face, 1 thread':>17}  {'vs batch 1':>10}")
    per_face: dict[tuple[int, int], float] = {}
    for b in (1, 2, 4, 8, 16, 32):
        for t, p in pipes.items():
            per_face[(t, b)] = best_ms(lambda p=p, b=b: p.embed([crop] * b), args.repeat) / b
        print(f"{b:>5}  {per_face[(0, b)]:>24.2f}  {per_face[(1, b)]:>17.2f}  {per_face[(0, b)] / per_face[(0, 1)]:>9.2f}x")

    print("\nrecognizer throughput, 32 faces: one batched call vs concurrent per-request calls (faces/s):")
    for t, p in pipes.items():
        one = 32 / best_ms(lambda p=p: p.embed([crop] * 32), args.repeat) * 1000
        with ThreadPoolExecutor(4) as pool:
            many = 32 / best_ms(lambda p=p: list(pool.map(lambda _: p.embed([crop]), range(32))), args.repeat) * 1000
        print(f"  {'default threads' if not t else '1 thread/session':<16}  batch 32: {one:6.1f}   "
              f"32 x batch 1 on 4 threads: {many:6.1f}   ratio {one / many:.2f}x")

    print("\nMTCNN's networks (ONNX Runtime, default threads; random input of each net's size), ms per item:")
    from faceprint.runtime import onnx_session

    det = pipes[0].detector
    sizes = {"pnet": (288, 384), "rnet": (24, 24), "onet": (48, 48)}  # P-Net: the first pyramid level of 640x480
    print(f"{'net':<5} {'input':>8}  " + "  ".join(f"{'batch ' + str(b):>9}" for b in (1, 4, 16, 64)))
    rng = np.random.default_rng(0)
    for wf in det.spec.files:
        net = Path(wf.name).stem
        sess = onnx_session(det.weight_path(wf))
        name, (h, w) = sess.get_inputs()[0].name, sizes[net]
        cells = []
        for b in (1, 4, 16, 64):
            if net == "pnet" and b > 16:
                cells.append(f"{'':>9}")
                continue
            x = rng.uniform(-1, 1, (b, w, h, 3)).astype(np.float32)  # these nets take (N, W, H, C)
            cells.append(f"{best_ms(lambda x=x, s=sess, n=name: s.run(None, {n: x}), args.repeat) / b:>9.3f}")
        print(f"{net:<5} {f'{w}x{h}':>8}  " + "  ".join(cells))

    print("\none /v1/represent's work in the library, per stage (ms, default threads):")
    p = pipes[0]
    prepare = np.mean([best_ms(lambda ph=ph: p.prepare_faces(ph), args.repeat) for ph in photos])
    embed1 = per_face[(0, 1)]
    total = prepare + embed1
    print(f"  decode + detect + align {prepare:6.1f}   embed {embed1:5.1f}   total {total:6.1f}   "
          f"recognizer share {embed1 / total:.0%}")
    best_b = min(per_face[(0, b)] for b in (1, 2, 4, 8, 16, 32))
    bound = total / (prepare + best_b)
    free = total / prepare
    print(f"  micro-batching at most: {bound:.2f}x throughput (every face at the best batch's cost); "
          f"{free:.2f}x even if the recognizer cost nothing")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
