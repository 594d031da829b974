"""Scale-out overhead and map-reduce search, side by side in one run.

Usage: python benchmarks/distributed.py [FOLDER] [--images N] [--workers 1,2] [--vectors 1000000]
       [--shards 16] [--queries 1000] [--skip-index] [--skip-search]

Part 1 (indexing): the same N photos from FOLDER (default ../shared/faces/orl, then identities)
through local ``represent_stream`` (2 threads), then through ``faceprint.distributed.index`` on a
fresh local Ray with W CPU slots for the decode/detect/align tasks and one embedding actor, into a
Parquet gallery. Ray start-up is timed apart from the job. Part 2 (search): V synthetic 128-d unit
vectors in S Parquet shards; QPS of exact map-reduce on Ray and of the same map-reduce in one
process, against single-process exact search over the whole matrix in memory (numpy), for a batch
of Q queries; the answers are checked to be identical. Run on demand; not a test.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
EXTS = {".jpg", ".jpeg", ".png"}


def pick_images(folder: Path | None, n: int) -> list[Path]:
    folders = [folder] if folder else [SHARED / "orl", SHARED / "identities"]
    out: list[Path] = []
    for f in folders:
        out += sorted(p for p in f.rglob("*") if p.suffix.lower() in EXTS) if f.is_dir() else []
    if not out:
        raise SystemExit(f"no images under {', '.join(map(str, folders))}")
    step = max(1, len(out) // n)
    return out[::step][:n]


def bench_index(paths: list[Path], workers: list[int]) -> None:
    import ray

    import faceprint
    from faceprint.distributed import index

    tmp = Path(tempfile.mkdtemp(prefix="fp-dist-"))
    try:
        lst = tmp / "list.txt"
        lst.write_text("\n".join(map(str, paths)))
        pipe = faceprint.Pipeline("mtcnn", "dlib")
        list(pipe.represent_stream(paths[:2], errors="skip"))  # load the models outside the timing
        t = time.perf_counter()
        n_ok = sum(r.error is None for r in pipe.represent_stream(paths, workers=2, errors="skip"))
        local = time.perf_counter() - t
        rows = [("local represent_stream (2 threads)", "-", local, len(paths) / local, 1.0)]
        print(f"{len(paths)} images ({n_ok} with a face); local: {local / len(paths) * 1000:.0f} ms/image")
        for w in workers:
            t = time.perf_counter()
            ray.init(num_cpus=w, include_dashboard=False, log_to_driver=False, configure_logging=False)
            start = time.perf_counter() - t
            try:
                t = time.perf_counter()
                r = index(lst, f"parquet:{tmp / f'g{w}'}", address=None, embed_cpus=0, task_images=4,
                          report=tmp / "r.json")  # fmt: skip
                job = time.perf_counter() - t
            finally:
                ray.shutdown()
            assert r.indexed + r.no_face == len(paths) - len(r.errors)
            rows.append((f"Ray, {w} task slot(s) + 1 embed actor", f"{start:.1f}", job, len(paths) / job, local / job))
        print(f"\n{'pipeline':<40}{'ray start s':>12}{'job s':>8}{'img/s':>8}{'vs local':>10}")
        for name, start, sec, ips, ratio in rows:
            print(f"{name:<40}{start:>12}{sec:>8.1f}{ips:>8.2f}{ratio:>9.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_search(n: int, shards: int, n_queries: int) -> None:
    import ray

    from faceprint.search.backends.parquet import ParquetStore
    from faceprint.search.vector_index import exact_search

    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="fp-shards-"))
    try:
        store = ParquetStore(tmp, dim=128, metric="cosine")
        t = time.perf_counter()
        per = -(-n // shards)
        all_ids = []
        mats = []
        for s in range(shards):
            m = min(per, n - s * per)
            v = rng.normal(size=(m, 128)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            mats.append(v)
            all_ids += store.apply(entries=[(f"k{s}_{i}", f"p{i % 1000}", 0, None, 0.0) for i in range(m)], vectors=v)
        data = np.concatenate(mats)
        ids = np.array(all_ids)
        write = time.perf_counter() - t
        size = sum(p.stat().st_size for _, p in store.shards())
        print(f"\n{n:,} vectors in {shards} shards ({size / 2**20:.0f} MiB on disk), written in {write:.1f} s; "
              f"{n_queries} queries, k=10")  # fmt: skip
        q = rng.normal(size=(n_queries, 128)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        t = time.perf_counter()
        d_ref, l_ref = exact_search(data, ids, q, 10, "cosine")
        single = time.perf_counter() - t
        del data, mats
        t = time.perf_counter()
        _, l_loc = store.search(q, 10)
        local_mr = time.perf_counter() - t
        ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            store.ray = "auto"
            store.search(q[:1], 10)  # worker start-up outside the timing
            t = time.perf_counter()
            d_ray, l_ray = store.search(q, 10)
            ray_mr = time.perf_counter() - t
        finally:
            ray.shutdown()
        same = np.array_equal(l_ref, l_ray) and np.array_equal(l_ref, l_loc)
        print(f"answers identical to brute force: {same} (max |d| diff {float(np.abs(d_ref - d_ray).max()):.1e})")
        print(f"\n{'search':<52}{'s':>8}{'QPS':>10}{'vs single':>11}")
        for name, sec in (("single process, exact, whole matrix in memory", single),
                          ("map-reduce in one process (shard by shard from disk)", local_mr),
                          (f"map-reduce on Ray ({os.cpu_count()} CPUs, a task per shard)", ray_mr)):  # fmt: skip
            print(f"{name:<52}{sec:>8.2f}{n_queries / sec:>10.0f}{single / sec:>10.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path)
    ap.add_argument("--images", type=int, default=60)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--vectors", type=int, default=1_000_000)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--skip-index", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray.data  # noqa: F401  (Ray sets up its loggers on import: quieten them after)

    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if not args.skip_index:
        bench_index(pick_images(args.folder, args.images), [int(w) for w in args.workers.split(",")])
    if not args.skip_search:
        bench_search(args.vectors, args.shards, args.queries)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
