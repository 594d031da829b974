"""PostgreSQL + pgvector store: one table of entries with a ``vector(d)`` column and an HNSW index.

``postgresql://user@host/db#name`` keeps the gallery in tables ``name_entries``, ``name_files`` and
``name_meta`` (default name: ``faceprint``). Inserts go through binary COPY inside one transaction
per write, so a write is either wholly there or not at all.
"""

# Table names are checked against _NAME before they reach any SQL; values always go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import json
import logging
import re
import struct
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from faceprint.errors import ConfigError, ContractError, DependencyError, StoreError
from faceprint.search.backends.base import NewEntry, box_tuple, checked_vectors, redact
from faceprint.search.types import Entry, FileRecord

log = logging.getLogger("faceprint")

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
#: pgvector operator and operator class per metric (vectors are unit-length except for "euclidean")
_OPS = {"cosine": ("<=>", "vector_cosine_ops"), "euclidean_l2": ("<=>", "vector_cosine_ops"),
        "euclidean": ("<->", "vector_l2_ops")}  # fmt: skip
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DependencyError("the PostgreSQL gallery needs psycopg: pip install 'faceprint[search]'") from None
    return psycopg


def _vec_text(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


class PgVectorStore:
    """A gallery in PostgreSQL with pgvector (the extension is created if missing and allowed)."""

    def __init__(
        self, url: str, *, dim: int, metric: str, table: str | None = None, ef_search: int = 128, hnsw_m: int = 32,
        ef_construction: int = 200, defer_index: bool = False, create: bool = True,
    ) -> None:  # fmt: skip
        url, _, fragment = url.partition("#")
        name = table or fragment or "faceprint"
        if not _NAME.match(name):
            raise ConfigError(f"gallery name {name!r}: use lower-case letters, digits and _ (at most 41)")
        if metric not in _OPS:
            raise ConfigError(f"unknown metric {metric!r}")
        psycopg = _psycopg()
        shown = redact(url)  # the only form of the URL that reaches a message, a log line or stats()
        try:
            self.conn = psycopg.connect(url, autocommit=True)  # transactions are explicit blocks
        except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
            secret = urlsplit(url).password if "://" in url else None
            why = redact(str(exc)).replace(secret, "***") if secret else redact(str(exc))
            raise StoreError(f"cannot connect to PostgreSQL at {shown}: {why} (keep passwords out of URLs: "
                             "PGPASSWORD or ~/.pgpass)") from None  # fmt: skip
        url = shown
        self.url, self.t, self.dim, self.metric = url, name, dim, metric
        self.op, self.opclass = _OPS[metric]
        self.ef_search, self.m, self.ef_construction = ef_search, hnsw_m, ef_construction
        t = self.t
        with self.conn.transaction():
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            exists = self.conn.execute("SELECT to_regclass(%s)", (f"{t}_meta",)).fetchone()[0]
            if exists is None and not create:
                raise StoreError(f"{url}: no gallery named {t!r}")
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {t}_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {t}_files (path text PRIMARY KEY, size bigint, "
                              "mtime double precision, sha256 text, status text, faces int, reason text)")  # fmt: skip
            self.conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {t}_ids")
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {t}_entries (id bigint PRIMARY KEY, key text NOT NULL, "
                              f"identity text NOT NULL, face int, x1 real, y1 real, x2 real, y2 real, score real, "
                              f"embedding vector({dim}) NOT NULL)")  # fmt: skip
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {t}_key ON {t}_entries (key)")
            layout = self._get("layout")
            if layout is None:
                self._put("layout", {"dim": dim, "metric": metric})
                if not defer_index:
                    self._create_index()
            elif layout != {"dim": dim, "metric": metric}:
                raise ContractError(f"{url}#{t}: this gallery's embedding contract holds {layout['dim']}-d vectors "
                                    f"compared by metric {layout['metric']!r}, not {dim}-d by {metric!r}; open it with "
                                    "its own model and metric, or use another gallery name")  # fmt: skip

    def _get(self, key: str) -> Any:
        row = self.conn.execute(f"SELECT value FROM {self.t}_meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]

    def _put(self, key: str, value: Any) -> None:
        self.conn.execute(f"INSERT INTO {self.t}_meta (key, value) VALUES (%s, %s) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, json.dumps(value)))  # fmt: skip

    def _create_index(self) -> None:
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS {self.t}_hnsw ON {self.t}_entries USING hnsw "
                          f"(embedding {self.opclass}) WITH (m = {int(self.m)}, ef_construction = {int(self.ef_construction)})")  # fmt: skip

    # -- reading --------------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        with self.conn.transaction():
            return self._get("gallery") or {}

    def write_meta(self, meta: dict[str, Any]) -> None:
        with self.conn.transaction():
            self._put("gallery", meta)

    def files(self) -> dict[str, FileRecord]:
        with self.conn.transaction():
            rows = self.conn.execute(f"SELECT path, size, mtime, sha256, status, faces, reason FROM {self.t}_files")
            return {r[0]: FileRecord(r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6] or "") for r in rows}

    def _distance(self, raw: np.ndarray) -> np.ndarray:
        if self.metric == "euclidean_l2":  # cosine distance of unit vectors → their euclidean distance
            return np.sqrt(np.maximum(2.0 * raw, 0.0))
        return raw

    def search(self, queries: np.ndarray, k: int, *, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        q = np.atleast_2d(np.asarray(queries, np.float32))
        out_d = np.full((len(q), k), np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        sql = f"SELECT id, embedding {self.op} %s::vector AS d FROM {self.t}_entries ORDER BY d LIMIT %s"
        with self.conn.transaction():
            # pgvector's HNSW returns at most ef_search rows, so it must cover k
            self.conn.execute(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), min(k, 1000))}")
            if exact:
                self.conn.execute("SET LOCAL enable_indexscan = off")
            for i, v in enumerate(q):
                rows = self.conn.execute(sql, (_vec_text(v), k)).fetchall()
                if rows:
                    out_i[i, : len(rows)] = [r[0] for r in rows]
                    out_d[i, : len(rows)] = self._distance(np.array([r[1] for r in rows], np.float64))
        return out_d, out_i

    def entries(self, ids: Sequence[int]) -> dict[int, Entry]:
        with self.conn.transaction():
            rows = self.conn.execute(f"SELECT id, key, identity, face, x1, y1, x2, y2, score FROM {self.t}_entries "
                                     "WHERE id = ANY(%s)", ([int(i) for i in ids],))  # fmt: skip
            return {r[0]: Entry(r[0], r[1], r[2], r[3] or 0, box_tuple(r[4:8]), r[8] or 0.0) for r in rows}

    def count(self) -> int:
        with self.conn.transaction():
            return int(self.conn.execute(f"SELECT count(*) FROM {self.t}_entries").fetchone()[0])

    def iter_entries(self, batch: int = 10_000) -> Iterator[tuple[list[Entry], np.ndarray]]:
        last = -1
        while True:
            with self.conn.transaction():
                rows = self.conn.execute(f"SELECT id, key, identity, face, x1, y1, x2, y2, score, embedding::text "
                                         f"FROM {self.t}_entries WHERE id > %s ORDER BY id LIMIT %s", (last, batch)).fetchall()  # fmt: skip
            if not rows:
                return
            last = rows[-1][0]
            entries = [Entry(r[0], r[1], r[2], r[3] or 0, box_tuple(r[4:8]), r[8] or 0.0) for r in rows]
            yield entries, np.array([json.loads(r[9]) for r in rows], np.float32)

    def identity_count(self) -> int:
        with self.conn.transaction():
            return int(self.conn.execute(f"SELECT count(DISTINCT identity) FROM {self.t}_entries").fetchone()[0])

    def keys_of_identity(self, identity: str) -> list[str]:
        with self.conn.transaction():
            rows = self.conn.execute(f"SELECT DISTINCT key FROM {self.t}_entries WHERE identity = %s", (identity,))
            return [r[0] for r in rows]

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
        t = self.t
        with self.conn.transaction():
            if remove_keys:
                self.conn.execute(f"DELETE FROM {t}_entries WHERE key = ANY(%s)", (list(remove_keys),))
                self.conn.execute(f"DELETE FROM {t}_files WHERE path = ANY(%s)", (list(remove_keys),))
            if files:
                with self.conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO {t}_files (path, size, mtime, sha256, status, faces, reason) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (path) DO UPDATE SET size = EXCLUDED.size, "
                        "mtime = EXCLUDED.mtime, sha256 = EXCLUDED.sha256, status = EXCLUDED.status, "
                        "faces = EXCLUDED.faces, reason = EXCLUDED.reason",
                        [(f.path, f.size, f.mtime, f.sha256, f.status, f.faces, f.reason) for f in files],
                    )
            if not n:
                return []
            ids = [r[0] for r in self.conn.execute(f"SELECT nextval('{t}_ids') FROM generate_series(1, %s)", (n,))]
            with self.conn.cursor() as cur, cur.copy(
                f"COPY {t}_entries (id, key, identity, face, x1, y1, x2, y2, score, embedding) FROM STDIN (FORMAT BINARY)"
            ) as cp:
                for s in range(0, n, 5000):
                    cp.write(_copy_rows(ids[s : s + 5000], entries[s : s + 5000], vecs[s : s + 5000], first=s == 0))
                cp.write(struct.pack("!h", -1))
        return ids

    def rebuild(self) -> dict[str, Any]:
        """(Re)build the HNSW index, then check its recall against exact search on a sample."""
        t0 = time.perf_counter()
        with self.conn.transaction():
            self.conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
            self.conn.execute(f"DROP INDEX IF EXISTS {self.t}_hnsw")
            self._create_index()
        report: dict[str, Any] = {"index": "hnsw", "M": self.m, "efConstruction": self.ef_construction,
                                  "efSearch": self.ef_search, "build_s": round(time.perf_counter() - t0, 3)}  # fmt: skip
        report.update(self.recall_check())
        with self.conn.transaction():
            self._put("index", report)
        return report

    def recall_check(self, sample: int = 100, k: int = 10) -> dict[str, Any]:
        with self.conn.transaction():
            rows = self.conn.execute(f"SELECT id, embedding::text FROM {self.t}_entries ORDER BY random() LIMIT %s",
                                     (sample,)).fetchall()  # fmt: skip
        if len(rows) < 2:
            return {}
        q = np.array([json.loads(r[1]) for r in rows], np.float32)
        own = [r[0] for r in rows]
        _, approx = self.search(q, k + 1)
        _, exact = self.search(q, k + 1, exact=True)
        r1 = rk = 0.0
        for i, me in enumerate(own):
            e = [x for x in exact[i] if x not in (me, -1)][:k]
            a = [x for x in approx[i] if x not in (me, -1)][:k]
            r1 += float(bool(e) and bool(a) and e[0] == a[0])
            rk += len(set(e) & set(a)) / max(len(e), 1)
        return {"recall@1": round(r1 / len(own), 4), f"recall@{k}": round(rk / len(own), 4), "recall_sample": len(own)}

    def stats(self) -> dict[str, Any]:
        with self.conn.transaction():
            size = self.conn.execute("SELECT pg_total_relation_size(%s)", (f"{self.t}_entries",)).fetchone()[0]
            has_index = self.conn.execute("SELECT to_regclass(%s)", (f"{self.t}_hnsw",)).fetchone()[0] is not None
            report = self._get("index") or {}
        return {"backend": "pgvector", "url": self.url, "table": f"{self.t}_entries", "dim": self.dim, "metric": self.metric,
                "table_bytes": int(size), "index": {**report, "index": "hnsw" if has_index else "none (exact scan)"}}  # fmt: skip

    def close(self) -> None:
        self.conn.close()


def _copy_rows(ids: Sequence[int], entries: Sequence[NewEntry], vecs: np.ndarray, *, first: bool) -> bytes:
    """Rows in PostgreSQL's binary COPY format (big-endian; -1 length = NULL)."""
    parts = [_COPY_HEADER] if first else []
    big = vecs.astype(">f4")
    vec_head = struct.pack("!ihh", 4 + 4 * vecs.shape[1], vecs.shape[1], 0)
    null = struct.pack("!i", -1)
    for i, (key, ident, face, box, score), v in zip(ids, entries, big):
        k, idt = key.encode(), ident.encode()
        parts.append(struct.pack("!hiq", 10, 8, i))
        parts.append(struct.pack("!i", len(k)) + k + struct.pack("!i", len(idt)) + idt + struct.pack("!ii", 4, face))
        parts.append(b"".join(struct.pack("!if", 4, c) for c in box) if box else null * 4)
        parts.append(struct.pack("!if", 4, score))
        parts.append(vec_head + v.tobytes())
    return b"".join(parts)
