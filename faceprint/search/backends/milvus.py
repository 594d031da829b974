"""Milvus store through ``pymilvus.MilvusClient``: a Milvus server URL, or a local ``.db`` file (milvus-lite).

Milvus has no transactions across collections: a write deletes, then inserts entries, then upserts
file records, and flushes. A crash between those steps can leave a file record stale; the next
``sync`` re-embeds that file. Entry ids come from a counter in the meta collection.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from faceprint.errors import ConfigError, ContractError, DependencyError, StoreError
from faceprint.search.backends.base import NewEntry, box_tuple, checked_vectors, ip_to_distance, redact
from faceprint.search.types import Entry, FileRecord
from faceprint.search.vector_index import exact_search

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
_ENTRY_FIELDS = ["id", "key", "identity", "face", "x1", "y1", "x2", "y2", "score"]
_FILE_FIELDS = ["path", "size", "mtime", "sha256", "status", "faces", "reason"]


def _milvus() -> Any:
    try:
        import pymilvus
    except ImportError:
        raise DependencyError("the Milvus gallery needs pymilvus (and milvus-lite for a local file): "
                              "pip install pymilvus milvus-lite") from None  # fmt: skip
    return pymilvus


#: The escapes Milvus's expression parser knows; it refuses JSON's ``\\uXXXX``, so other text goes in as itself.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'
    return str(int(value))


def _in(field: str, values: Sequence[Any]) -> str:
    """``field in [...]`` for any Unicode text (``café/``, quotes, newlines) or integer ids."""
    return f"{field} in [{', '.join(_literal(v) for v in values)}]"


class MilvusStore:
    """A gallery in three Milvus collections: ``<name>_entries`` (HNSW), ``<name>_files``, ``<name>_meta``."""

    def __init__(
        self, uri: str, *, dim: int, metric: str, collection: str = "faceprint", ef_search: int = 128,
        hnsw_m: int = 32, ef_construction: int = 200, create: bool = True,
    ) -> None:  # fmt: skip
        uri, _, fragment = uri.partition("#")
        collection = fragment or collection
        if not _NAME.match(collection):
            raise ConfigError(f"collection name {collection!r}: use letters, digits and _ (at most 41)")
        pm = _milvus()
        self.DataType = pm.DataType
        self.client = pm.MilvusClient(uri)
        uri = redact(uri)  # a token or password in the URI never reaches a message or stats()
        self.uri, self.t, self.dim, self.metric = uri, collection, dim, metric
        self.mtype = "L2" if metric == "euclidean" else "IP"
        self.ef_search, self.m, self.ef_construction = ef_search, hnsw_m, ef_construction
        if not self.client.has_collection(f"{self.t}_meta"):
            if not create:
                raise ConfigError(f"{uri}: no gallery collection {collection!r}")
            self._create()
        layout = self._get("layout")
        if layout != {"dim": dim, "metric": metric}:
            raise ContractError(f"{uri}#{collection}: this gallery's embedding contract holds {layout['dim']}-d vectors "
                                f"compared by metric {layout['metric']!r}, not {dim}-d by {metric!r}")  # fmt: skip

    def _schema(self, primary: str, primary_type: Any, fields: list[tuple[str, Any]], vec_dim: int) -> Any:
        dt = self.DataType
        schema = self.client.create_schema(auto_id=False)
        kw = {"max_length": 4096} if primary_type == dt.VARCHAR else {}
        schema.add_field(primary, primary_type, is_primary=True, **kw)
        for name, ftype in fields:
            schema.add_field(name, ftype, **({"max_length": 65535} if ftype == dt.VARCHAR else {}))
        schema.add_field("vec", dt.FLOAT_VECTOR, dim=vec_dim)  # Milvus requires a vector in every collection
        return schema

    def _create(self) -> None:
        dt = self.DataType
        f32, i64, txt = dt.FLOAT, dt.INT64, dt.VARCHAR
        small = self.client.prepare_index_params()
        small.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
        self.client.create_collection(f"{self.t}_meta", schema=self._schema("key", txt, [("value", txt)], 2),
                                      index_params=small)  # fmt: skip
        small = self.client.prepare_index_params()
        small.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
        fields = [("size", i64), ("mtime", dt.DOUBLE), ("sha256", txt), ("status", txt), ("faces", i64), ("reason", txt)]
        self.client.create_collection(f"{self.t}_files", schema=self._schema("path", txt, fields, 2), index_params=small)
        fields = [("key", txt), ("identity", txt), ("face", i64), ("x1", f32), ("y1", f32), ("x2", f32), ("y2", f32),
                  ("score", f32)]  # fmt: skip
        self.client.create_collection(f"{self.t}_entries", schema=self._schema("id", i64, fields, self.dim),
                                      index_params=self._index_params())  # fmt: skip
        self._put("layout", {"dim": self.dim, "metric": self.metric})
        self._put("next_id", 1)

    def _index_params(self) -> Any:
        p = self.client.prepare_index_params()
        p.add_index(field_name="vec", index_type="HNSW", metric_type=self.mtype,
                    params={"M": self.m, "efConstruction": self.ef_construction})  # fmt: skip
        return p

    def _get(self, key: str) -> Any:
        rows = self.client.query(f"{self.t}_meta", filter=_in("key", [key]), output_fields=["value"])
        return json.loads(rows[0]["value"]) if rows else None

    def _put(self, key: str, value: Any) -> None:
        self.client.upsert(f"{self.t}_meta", [{"key": key, "value": json.dumps(value), "vec": [0.0, 0.0]}])

    def _iterate(self, coll: str, fields: list[str], filter: str = "", batch: int = 1000) -> Iterator[list[dict]]:
        it = self.client.query_iterator(coll, batch_size=batch, filter=filter, output_fields=fields)
        try:
            while rows := it.next():
                yield rows
        finally:
            it.close()

    # -- reading --------------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        return self._get("gallery") or {}

    def write_meta(self, meta: dict[str, Any]) -> None:
        self._put("gallery", meta)

    def files(self) -> dict[str, FileRecord]:
        out = {}
        for rows in self._iterate(f"{self.t}_files", _FILE_FIELDS):
            out.update({r["path"]: FileRecord(*(r[f] for f in _FILE_FIELDS)) for r in rows})
        return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.atleast_2d(np.asarray(queries, np.float32))
        out_d = np.full((len(q), k), np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        res = self.client.search(f"{self.t}_entries", data=q.tolist(), limit=k, output_fields=["id"],
                                 search_params={"metric_type": self.mtype, "params": {"ef": max(self.ef_search, k)}})  # fmt: skip
        for i, hits in enumerate(res):
            if not hits:
                continue
            raw = np.array([h["distance"] for h in hits], np.float32)
            out_i[i, : len(hits)] = [h["id"] for h in hits]
            out_d[i, : len(hits)] = np.sqrt(np.maximum(raw, 0)) if self.mtype == "L2" else ip_to_distance(raw, self.metric)
        return out_d, out_i

    def entries(self, ids: Sequence[int]) -> dict[int, Entry]:
        if not ids:
            return {}
        rows = self.client.query(f"{self.t}_entries", filter=_in("id", [int(i) for i in ids]), output_fields=_ENTRY_FIELDS)
        return {r["id"]: _entry(r) for r in rows}

    def iter_entries(self, batch: int = 10_000) -> Iterator[tuple[list[Entry], np.ndarray]]:
        for rows in self._iterate(f"{self.t}_entries", [*_ENTRY_FIELDS, "vec"], batch=min(batch, 16384)):
            yield [_entry(r) for r in rows], np.array([r["vec"] for r in rows], np.float32)

    def count(self) -> int:
        rows = self.client.query(f"{self.t}_entries", filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def identity_count(self) -> int:
        return len({r["identity"] for rows in self._iterate(f"{self.t}_entries", ["identity"]) for r in rows})

    def keys_of_identity(self, identity: str) -> list[str]:
        rows = self._iterate(f"{self.t}_entries", ["key"], filter=_in("identity", [identity]))
        return list(dict.fromkeys(r["key"] for batch in rows for r in batch))

    # -- writing --------------------------------------------------------------------------------
    def apply(
        self,
        *,
        remove_keys: Sequence[str] = (),
        files: Sequence[FileRecord] = (),
        entries: Sequence[NewEntry] = (),
        vectors: np.ndarray | None = None,
    ) -> list[int]:
        n = len(entries)
        vecs = checked_vectors(vectors, n, self.dim)
        for s in range(0, len(remove_keys), 1000):
            chunk = list(remove_keys[s : s + 1000])
            self.client.delete(f"{self.t}_entries", filter=_in("key", chunk))
            self.client.delete(f"{self.t}_files", filter=_in("path", chunk))
        first = int(self._get("next_id"))
        ids = list(range(first, first + n))
        if n:
            self._put("next_id", first + n)  # before the insert: an id is never handed out twice
            rows = [{"id": i, "key": key, "identity": ident, "face": face, "score": float(score), "vec": v.tolist(),
                     **dict(zip(("x1", "y1", "x2", "y2"), (float(c) for c in (box or (np.nan,) * 4))))}
                    for i, (key, ident, face, box, score), v in zip(ids, entries, vecs)]  # fmt: skip
            for s in range(0, n, 5000):
                self.client.insert(f"{self.t}_entries", rows[s : s + 5000])
        if files:
            self.client.upsert(f"{self.t}_files", [{**{f: getattr(r, f) for f in _FILE_FIELDS}, "vec": [0.0, 0.0]}
                                                   for r in files])  # fmt: skip
        self.client.flush(f"{self.t}_entries")
        return ids

    def rebuild(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        coll = f"{self.t}_entries"
        self.client.release_collection(coll)
        self.client.drop_index(coll, "vec")
        self.client.create_index(coll, self._index_params())
        self.client.load_collection(coll)
        report: dict[str, Any] = {"index": "hnsw", "M": self.m, "efConstruction": self.ef_construction,
                                  "efSearch": self.ef_search, "build_s": round(time.perf_counter() - t0, 3)}  # fmt: skip
        report.update(self._recall_check())
        self._put("index", report)
        return report

    def _recall_check(self, sample: int = 100, k: int = 10) -> dict[str, Any]:
        ids, vecs = [], []
        for entries, v in self.iter_entries():
            ids += [e.id for e in entries]
            vecs.append(v)
        if len(ids) < 2:
            return {}
        data, labels = np.concatenate(vecs), np.array(ids)
        pick = np.random.default_rng(0).choice(len(ids), size=min(sample, len(ids)), replace=False)
        _, exact = exact_search(data, labels, data[pick], k + 1, self.metric)
        _, approx = self.search(data[pick], k + 1)
        r1 = rk = 0.0
        for i, row in enumerate(pick):
            e = [x for x in exact[i] if x != labels[row]][:k]
            a = [x for x in approx[i] if x not in (labels[row], -1)][:k]
            r1 += float(bool(e) and bool(a) and e[0] == a[0])
            rk += len(set(e) & set(a)) / max(len(e), 1)
        return {"recall@1": round(r1 / len(pick), 4), f"recall@{k}": round(rk / len(pick), 4), "recall_sample": len(pick)}

    def stats(self) -> dict[str, Any]:
        return {"backend": "milvus", "uri": self.uri, "collection": f"{self.t}_entries", "dim": self.dim,
                "metric": self.metric, "index": self._get("index") or {"index": "hnsw"}}  # fmt: skip

    def close(self) -> None:
        self.client.close()


def _typed(method: Any) -> Any:
    """Milvus's own errors (a server gone, a refused request) as StoreError naming the gallery."""

    @functools.wraps(method)
    def wrapper(self: MilvusStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _milvus().MilvusException as exc:
            raise StoreError(f"{self.uri}#{self.t}: Milvus refused the request ({redact(str(exc))[:500]})") from None

    return wrapper


for _name in ("search", "entries", "files", "count", "identity_count", "keys_of_identity", "apply", "rebuild",
              "read_meta", "write_meta"):  # fmt: skip
    setattr(MilvusStore, _name, _typed(getattr(MilvusStore, _name)))


def _entry(r: dict[str, Any]) -> Entry:
    box = None if any(np.isnan(r[c]) for c in ("x1", "y1", "x2", "y2")) else box_tuple([r["x1"], r["y1"], r["x2"], r["y2"]])
    return Entry(int(r["id"]), r["key"], r["identity"], int(r["face"]), box, float(r["score"]))
