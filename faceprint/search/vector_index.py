"""In-memory vector index over the rows of a vector file: exact (faiss flat / numpy) or faiss HNSW.

Labels are row numbers; the store filters rows deleted since the build. HNSW builds end with a
recall self-check against exact search, kept in :attr:`VectorIndex.report`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import ConfigError, DependencyError
from faceprint.search.backends.base import ip_to_distance

log = logging.getLogger("faceprint")

INDEX_KINDS = ("auto", "flat", "hnsw", "numpy")


def _faiss() -> Any | None:
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def exact_search(data: np.ndarray, labels: np.ndarray, q: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Brute force with numpy, in chunks of the data so memory stays bounded."""
    n = len(data)
    k_eff = min(k, n)
    best_d = np.full((len(q), 0), np.inf, np.float32)
    best_l = np.full((len(q), 0), -1, np.int64)
    for s in range(0, n, 65536):
        block = np.asarray(data[s : s + 65536], np.float32)
        if metric == "euclidean":
            d = (q**2).sum(1)[:, None] + (block**2).sum(1)[None, :] - 2.0 * q @ block.T
            d = np.sqrt(np.maximum(d, 0.0))
        else:
            d = ip_to_distance(q @ block.T, metric)
        d = np.concatenate([best_d, d], 1)
        lab = np.concatenate([best_l, np.broadcast_to(labels[s : s + 65536], (len(q), len(block)))], 1)
        kk = min(k_eff, d.shape[1])
        part = np.argpartition(d, kk - 1, axis=1)[:, :kk]
        best_d = np.take_along_axis(d, part, 1)
        best_l = np.take_along_axis(lab, part, 1)
    order = np.argsort(best_d, axis=1, kind="stable")
    return np.take_along_axis(best_d, order, 1).astype(np.float32), np.take_along_axis(best_l, order, 1)


class VectorIndex:
    """Chooses and runs the index. ``kind``: "auto" (flat below ``hnsw_threshold`` rows, HNSW above),
    "flat", "hnsw" or "numpy" (no faiss)."""

    def __init__(
        self, dim: int, metric: str, *, kind: str = "auto", hnsw_threshold: int = 100_000, hnsw_m: int = 32,
        ef_construction: int = 200, ef_search: int = 128,
    ) -> None:  # fmt: skip
        if kind not in INDEX_KINDS:
            raise ConfigError(f"unknown index kind {kind!r}; use one of {', '.join(INDEX_KINDS)}")
        if ef_search < 1 or hnsw_m < 2 or ef_construction < 1:
            raise ConfigError("hnsw_m, ef_construction and ef_search must be positive")
        self.dim, self.metric, self.kind = dim, metric, kind
        self.hnsw_threshold, self.m, self.ef_construction, self.ef_search = hnsw_threshold, hnsw_m, ef_construction, ef_search
        self.faiss = _faiss() if kind != "numpy" else None
        if kind in ("flat", "hnsw") and self.faiss is None:
            raise ConfigError(f"index {kind!r} needs faiss: pip install faiss-cpu (or use index='auto')")
        self._index: Any = None
        self._inner: Any = None
        self._hnsw: Any = None
        self._data: np.ndarray | None = None  # numpy mode: the vectors
        self._labels: np.ndarray | None = None
        self.active = "none"
        self.report: dict[str, Any] = {}

    @property
    def ntotal(self) -> int:
        if self._index is not None:
            return int(self._index.ntotal)
        return 0 if self._labels is None else len(self._labels)

    def _choose(self, n: int) -> str:
        if self.faiss is None:
            return "numpy"
        if self.kind == "auto":
            return "hnsw" if n >= self.hnsw_threshold else "flat"
        return self.kind

    def _new_faiss(self, kind: str) -> Any:
        f = self.faiss
        if f is None:  # _choose picks a faiss kind only when faiss imported; guard direct callers
            raise DependencyError("this index kind needs faiss: pip install faiss-cpu")
        fm = f.METRIC_L2 if self.metric == "euclidean" else f.METRIC_INNER_PRODUCT
        if kind == "hnsw":
            inner = f.IndexHNSWFlat(self.dim, self.m, fm)
            inner.hnsw.efConstruction = self.ef_construction
            inner.hnsw.efSearch = self.ef_search
        else:
            inner = f.IndexFlat(self.dim, fm)
        self._hnsw = inner if kind == "hnsw" else None
        out = f.IndexIDMap2(inner)
        out.own_fields = False  # we keep ``inner`` alive ourselves (it holds the HNSW parameters)
        self._inner = inner
        return out

    def build(self, vectors: np.ndarray, labels: np.ndarray, *, check_recall: bool = True) -> dict[str, Any]:
        """Index ``vectors`` (float32, (n, d)) under ``labels`` (row numbers) from scratch."""
        t0 = time.perf_counter()
        kind = self._choose(len(vectors))
        self._index, self._data, self._labels = None, None, None
        if kind == "numpy":
            self._data = np.ascontiguousarray(vectors, np.float32)
            self._labels = np.asarray(labels, np.int64)
        else:
            self._index = self._new_faiss(kind)
            self._add_faiss(vectors, labels)
        self.active = kind
        self.report = {"index": kind, "rows": len(vectors), "build_s": round(time.perf_counter() - t0, 3)}
        if kind == "hnsw":
            self.report.update(M=self.m, efConstruction=self.ef_construction, efSearch=self.ef_search)
            if check_recall:
                self.report.update(self.recall_check(vectors, labels))
        log.info("built %s index over %d vectors in %.2f s", kind, len(vectors), self.report["build_s"])
        return self.report

    def _add_faiss(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        for s in range(0, len(vectors), 100_000):  # chunks keep the float32 copy of fp16 storage small
            v = np.ascontiguousarray(vectors[s : s + 100_000], np.float32)
            self._index.add_with_ids(v, np.ascontiguousarray(labels[s : s + 100_000], np.int64))

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        if self.active == "none":
            return
        if self.active == "numpy":
            self._data = np.concatenate([self._data, np.asarray(vectors, np.float32)])  # type: ignore[list-item]
            self._labels = np.concatenate([self._labels, np.asarray(labels, np.int64)])  # type: ignore[list-item]
        else:
            self._add_faiss(vectors, labels)

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) distances and labels; -1 labels pad when the index holds fewer than k."""
        q = np.ascontiguousarray(q, np.float32)
        k = max(1, min(k, max(self.ntotal, 1)))
        if self.active == "numpy" or self._index is None:
            if self._labels is None or not len(self._labels):
                return np.full((len(q), k), np.inf, np.float32), np.full((len(q), k), -1, np.int64)
            return exact_search(self._data, self._labels, q, k, self.metric)  # type: ignore[arg-type]
        if self.active == "hnsw":
            self._hnsw.hnsw.efSearch = max(self.ef_search, k)
        d, lab = self._faiss_search(q, k)
        if self.metric == "euclidean":
            d = np.sqrt(np.maximum(d, 0.0))
        else:
            d = ip_to_distance(d, self.metric)
        d[lab < 0] = np.inf
        return d.astype(np.float32), lab.astype(np.int64)

    def _faiss_search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(q) >= 16:
            return self._index.search(q, k)
        # OpenMP threads cost more than they save on a handful of queries (milliseconds of
        # spin-up on a busy machine), so small batches run on one thread.
        f = self.faiss
        threads = f.omp_get_max_threads()
        f.omp_set_num_threads(1)
        try:
            return self._index.search(q, k)
        finally:
            f.omp_set_num_threads(threads)

    def recall_check(self, vectors: np.ndarray, labels: np.ndarray, sample: int = 200, k: int = 10) -> dict[str, Any]:
        """Recall@1 and @k of this index against exact search, on stored vectors as queries (self excluded)."""
        n = len(vectors)
        if n < 2:
            return {}
        rng = np.random.default_rng(0)
        pick = rng.choice(n, size=min(sample, n), replace=False)
        q = np.asarray(vectors[pick], np.float32)
        kk = min(k + 1, n)
        _, exact = exact_search(vectors, labels, q, kk, self.metric)
        _, approx = self.search(q, kk)
        r1 = rk = 0.0
        for i, row in enumerate(pick):
            own = labels[row]
            e = [x for x in exact[i] if x != own][: kk - 1]
            a = [x for x in approx[i] if x != own][: kk - 1]
            r1 += float(bool(e) and bool(a) and e[0] == a[0])
            rk += len(set(e) & set(a)) / max(len(e), 1)
        out = {"recall@1": round(r1 / len(pick), 4), f"recall@{kk - 1}": round(rk / len(pick), 4),
               "recall_sample": len(pick)}  # fmt: skip
        if out["recall@1"] < 0.9:
            log.warning("HNSW recall@1 %.3f on %d sampled queries is low; raise ef_search", out["recall@1"], len(pick))
        return out

    def save(self, path: Path) -> bool:
        if self.active != "hnsw" or self.faiss is None:
            return False
        tmp = path.with_suffix(".tmp")
        self.faiss.write_index(self._index, str(tmp))
        os.chmod(tmp, 0o600)  # built from biometric vectors: owner only
        tmp.replace(path)
        return True

    def load(self, path: Path) -> bool:
        if self.faiss is None or not path.is_file():
            return False
        try:
            self._index = self.faiss.read_index(str(path))
            self._hnsw = self.faiss.downcast_index(self._index.index)
        except RuntimeError as exc:  # a damaged index file is rebuilt, never trusted
            log.warning("%s: unreadable index (%s); rebuilding", path, exc)
            return False
        self.active = "hnsw"
        self.report = {"index": "hnsw", "rows": int(self._index.ntotal), "loaded_from": path.name,
                       "M": self.m, "efConstruction": self.ef_construction, "efSearch": self.ef_search}  # fmt: skip
        return True
