"""The embedded store: metadata in SQLite (WAL), vectors in an append-only memory-mapped file.

Crash safety: vectors are appended and fsync'd *before* the SQLite transaction that records them
commits the new row count, so after a kill the file may hold a torn tail past the committed count;
it is ignored and overwritten. Writers take SQLite's write lock (BEGIN IMMEDIATE) before touching
the vector file, so two processes never append at once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import ConfigError, ContractError, StoreError
from faceprint.search.backends import integrity
from faceprint.search.backends.base import NewEntry, box_tuple, checked_vectors
from faceprint.search.types import Entry, FileRecord
from faceprint.search.vector_index import VectorIndex

log = logging.getLogger("faceprint")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime REAL, sha256 TEXT,
    status TEXT, faces INTEGER, reason TEXT);
CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, identity TEXT NOT NULL,
    face INTEGER, x1 REAL, y1 REAL, x2 REAL, y2 REAL, score REAL, row INTEGER NOT NULL UNIQUE);
CREATE INDEX IF NOT EXISTS entries_key ON entries(key);
CREATE TABLE IF NOT EXISTS blocks (generation INTEGER NOT NULL, first INTEGER NOT NULL, rows INTEGER NOT NULL,
    digest TEXT NOT NULL, PRIMARY KEY (generation, first));
"""
#: Rows per checksum block when a generation is written in one go (rebuild); appends get one block per batch.
BLOCK_ROWS = 4096
#: Blocks verified when a gallery is opened (the last one and a few random ones); ``check()`` verifies all.
OPEN_SAMPLE = 4


class EmbeddedStore:
    """A gallery folder: ``gallery.sqlite`` + ``vectors.<generation>.<f32|f16>`` (+ a saved HNSW index)."""

    def __init__(
        self, path: Path, *, dim: int, metric: str, fp16: bool = False, index: str = "auto",
        hnsw_threshold: int = 100_000, ef_search: int = 128, create: bool = True, verify: bool = True,
    ) -> None:  # fmt: skip
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path}: a gallery is a folder, but this is a file; pass a folder path")
        if not path.exists() and not create:
            raise StoreError(f"{path}: no gallery here")
        self.path, self.dim, self.metric = path, dim, metric
        dbfile = path / "gallery.sqlite"
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)  # biometric data: owner only
            os.close(os.open(dbfile, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite gives -wal/-shm the same mode
            self.db = sqlite3.connect(dbfile, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives power loss too
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StoreError(f"{dbfile}: the gallery database is locked by another process ({exc})") from None
            raise StoreError(integrity.corrupt_message(dbfile, exc)) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot open or create a gallery here ({exc}); pick a writable folder "
                             "(Gallery(path), find(..., gallery=path), or --db)") from None  # fmt: skip
        want = {"dim": dim, "metric": metric, "dtype": "float16" if fp16 else "float32"}
        try:
            self._open(path, want, index, hnsw_threshold, ef_search, verify)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(integrity.corrupt_message(dbfile, exc)) from None
        except StoreError:
            self.db.close()
            raise

    def _open(self, path: Path, want: dict[str, Any], index: str, hnsw_threshold: int, ef_search: int,
              verify: bool) -> None:  # fmt: skip
        dim, metric = want["dim"], want["metric"]
        with self._tx():
            layout = self._get("layout")
            if layout is None:
                self._put("layout", {**want, "generation": 0})
                self._put("rows", 0)
                self._put("version", 0)
                layout = {**want, "generation": 0}
        if layout["dim"] != dim or layout["metric"] != metric:
            raise ContractError(f"{path}: this gallery's embedding contract holds {layout['dim']}-d vectors compared by "
                                f"metric {layout['metric']!r}, not {dim}-d by {metric!r}; open it with its own model "
                                "and metric, or use another gallery")  # fmt: skip
        self.dtype = np.dtype(layout["dtype"])
        self.index = VectorIndex(dim, metric, kind=index, hnsw_threshold=hnsw_threshold, ef_search=ef_search)
        self._version = -1
        self._rows = 0
        self._row_to_id = np.empty(0, np.int64)
        self._indexed_rows = 0
        self._indexed_generation = -1
        self._dead_in_index = 0
        self._refresh()
        if verify:
            self.verify(sample=OPEN_SAMPLE)

    # -- SQLite helpers -------------------------------------------------------------------------
    def _tx(self) -> _Tx:
        return _Tx(self.db)

    def _get(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except (TypeError, ValueError) as exc:
            raise StoreError(integrity.damaged_message(self.path, f"its {key!r} record is not valid JSON ({exc})")) from None
        if key == "layout" and not (isinstance(value, dict) and {"dim", "metric", "dtype", "generation"} <= set(value)):
            raise StoreError(integrity.damaged_message(self.path, f"its layout record is incomplete ({row[0][:80]!r})"))
        if key in ("rows", "version") and (not isinstance(value, int) or value < 0):
            raise StoreError(integrity.damaged_message(self.path, f"its {key!r} record holds {value!r}, not a count"))
        return value

    def _put(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def _vector_path(self, generation: int) -> Path:
        return self.path / f"vectors.{generation}.{'f16' if self.dtype == np.float16 else 'f32'}"

    @property
    def _row_bytes(self) -> int:
        return self.dim * self.dtype.itemsize

    # -- reading --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: every SELECT inside sees the same commit, whatever other processes write."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _refresh(self) -> None:
        """Catch up with commits (ours or another process's) since the last look."""
        with self._snapshot():
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        version = self._get("version")
        if version == self._version:
            return
        layout, rows = self._get("layout"), int(self._get("rows"))
        self._generation = int(layout["generation"])
        vpath = self._vector_path(self._generation)
        size = vpath.stat().st_size if vpath.exists() else 0
        if size < rows * self._row_bytes:
            raise StoreError(f"{vpath}: holds {size // self._row_bytes} vectors but the gallery committed {rows}; "
                             "the vector file was truncated or replaced. Restore it, or re-index into a new gallery.")  # fmt: skip
        row_to_id = np.full(rows, -1, np.int64)
        pairs = np.array(self.db.execute("SELECT row, id FROM entries").fetchall(), np.int64).reshape(-1, 2)
        if len(pairs) and (pairs[:, 0].min() < 0 or pairs[:, 0].max() >= rows):
            bad = int(((pairs[:, 0] < 0) | (pairs[:, 0] >= rows)).sum())
            raise StoreError(integrity.damaged_message(self.path, f"{bad} entries point at vector rows outside the {rows} committed"))
        row_to_id[pairs[:, 0]] = pairs[:, 1]
        grown = rows >= self._rows and self._generation == self._indexed_generation
        self._rows, self._row_to_id, self._version = rows, row_to_id, version
        if self.index.active != "none" and grown:
            self._index_tail()
            self._dead_in_index = int((row_to_id[: self._indexed_rows] < 0).sum())
        else:
            self.index.active = "none"  # rebuilt lazily at the next search

    def _matrix(self) -> np.ndarray:
        if self._rows == 0:
            return np.empty((0, self.dim), self.dtype)
        return np.memmap(self._vector_path(self._generation), self.dtype, "r", shape=(self._rows, self.dim))

    def _index_tail(self) -> None:
        if self._rows > self._indexed_rows:
            live = np.nonzero(self._row_to_id[self._indexed_rows :] >= 0)[0] + self._indexed_rows
            if len(live):
                self.index.add(np.asarray(self._matrix()[live], np.float32), live)
            self._indexed_rows = self._rows

    def _ensure_index(self) -> None:
        self._refresh()
        dead_share = self._dead_in_index / max(self._indexed_rows, 1)
        if self.index.active != "none" and dead_share <= 0.25:
            return
        saved = self._get("hnsw")
        ipath = self.path / f"hnsw.{self._generation}.faiss"
        if (self.index.active == "none" and saved and saved.get("generation") == self._generation
                and saved.get("rows", 0) <= self._rows and self.index.kind in ("auto", "hnsw")
                and self.index.load(ipath)):  # fmt: skip
            self.index.report.update(saved.get("report", {}))
            self._indexed_rows = int(saved["rows"])
            self._indexed_generation = self._generation
            self._dead_in_index = int((self._row_to_id[: self._indexed_rows] < 0).sum())
            self._index_tail()
            if self._dead_in_index / max(self._indexed_rows, 1) <= 0.25:
                return
        self._build()

    def _build(self) -> None:
        self.verify()  # every vector is read for the index anyway: check them all first
        live = np.nonzero(self._row_to_id >= 0)[0]
        data = self._matrix()
        vectors = np.asarray(data[live], np.float32) if len(live) else np.empty((0, self.dim), np.float32)
        report = self.index.build(vectors, live)
        self._indexed_rows, self._indexed_generation, self._dead_in_index = self._rows, self._generation, 0
        if self.index.save(self.path / f"hnsw.{self._generation}.faiss"):
            with self._tx():
                self._put("hnsw", {"generation": self._generation, "rows": self._rows, "report": report})

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._ensure_index()
        q = np.atleast_2d(np.asarray(queries, np.float32))
        fetch = min(k + self._dead_in_index, max(self.index.ntotal, 1))
        d, rows = self.index.search(q, fetch)
        ids = np.full(rows.shape, -1, np.int64)
        found = rows >= 0
        ids[found] = self._row_to_id[rows[found]]
        out_d = np.full((len(q), k), np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        for i in range(len(q)):
            keep = ids[i] >= 0
            n = min(k, int(keep.sum()))
            out_d[i, :n], out_i[i, :n] = d[i][keep][:n], ids[i][keep][:n]
        return out_d, out_i

    def entries(self, ids: Sequence[int]) -> dict[int, Entry]:
        out: dict[int, Entry] = {}
        ids = [int(i) for i in ids if int(i) >= 0]
        for s in range(0, len(ids), 500):
            chunk = ids[s : s + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT id, key, identity, face, x1, y1, x2, y2, score FROM entries WHERE id IN ({marks})",  # noqa: S608 - placeholders only
                chunk,
            ):
                out[r[0]] = Entry(r[0], r[1], r[2], r[3] or 0, box_tuple(r[4:8]), r[8] or 0.0)
        return out

    def files(self) -> dict[str, FileRecord]:
        rows = self.db.execute("SELECT path, size, mtime, sha256, status, faces, reason FROM files")
        return {r[0]: FileRecord(r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6] or "") for r in rows}

    def read_meta(self) -> dict[str, Any]:
        return self._get("gallery") or {}

    def write_meta(self, meta: dict[str, Any]) -> None:
        with self._tx():
            self._put("gallery", meta)

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def iter_entries(self, batch: int = 10_000) -> Iterator[tuple[list[Entry], np.ndarray]]:
        self._refresh()
        data = self._matrix()
        # rows beyond the refreshed count were committed after it: their vectors are not mapped yet
        rows = self.db.execute("SELECT id, key, identity, face, x1, y1, x2, y2, score, row FROM entries "
                               "WHERE row < ? ORDER BY row", (self._rows,))  # fmt: skip
        while chunk := rows.fetchmany(batch):
            entries = [Entry(r[0], r[1], r[2], r[3] or 0, box_tuple(r[4:8]), r[8] or 0.0) for r in chunk]
            yield entries, np.asarray(data[[r[9] for r in chunk]], np.float32)

    def identity_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(DISTINCT identity) FROM entries").fetchone()[0])

    def keys_of_identity(self, identity: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT key FROM entries WHERE identity = ?", (identity,))]

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
        if n and not np.isfinite(vecs).all():
            raise ConfigError("vectors contain NaN or infinity; nothing was stored")
        with self._tx():  # BEGIN IMMEDIATE: we hold the write lock from here on
            layout, rows = self._get("layout"), int(self._get("rows"))
            if n:
                stored = np.ascontiguousarray(vecs.astype(self.dtype))
                self._append(self._vector_path(int(layout["generation"])), rows, stored)
                self.db.execute("INSERT OR REPLACE INTO blocks(generation, first, rows, digest) VALUES (?,?,?,?)",
                                (int(layout["generation"]), rows, n, integrity.digest(stored)))  # fmt: skip
            for key in remove_keys:
                self.db.execute("DELETE FROM entries WHERE key = ?", (key,))
                self.db.execute("DELETE FROM files WHERE path = ?", (key,))
            self.db.executemany(
                "INSERT OR REPLACE INTO files(path, size, mtime, sha256, status, faces, reason) VALUES (?,?,?,?,?,?,?)",
                [(f.path, f.size, f.mtime, f.sha256, f.status, f.faces, f.reason) for f in files],
            )
            cur = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0]
            seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
            first = max(int(cur), int(seq[0]) if seq else 0) + 1
            ids = list(range(first, first + n))
            self.db.executemany(
                "INSERT INTO entries(id, key, identity, face, x1, y1, x2, y2, score, row) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (i, key, ident, face, *(box or (None,) * 4), score, rows + j)
                    for j, (i, (key, ident, face, box, score)) in enumerate(zip(ids, entries))
                ],
            )
            self._put("rows", rows + n)
            self._put("version", int(self._get("version")) + 1)
        return ids

    def _append(self, vpath: Path, rows: int, vecs: np.ndarray) -> None:
        offset = rows * self._row_bytes
        created = not vpath.exists()
        fd = os.open(vpath, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)  # drop a torn tail left by a killed writer
            os.lseek(fd, offset, os.SEEK_SET)
            data = memoryview(np.ascontiguousarray(vecs).tobytes())
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # a new file's directory entry must reach the disk before SQLite points at it
            dfd = os.open(vpath.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def rebuild(self) -> dict[str, Any]:
        """Compact away deleted rows into a new vector file generation (with fresh checksums, also for
        rows an older version stored without them), then rebuild the index. Refuses to copy live rows
        whose checksum fails: those need re-embedding (``faceprint index FOLDER --rebuild``)."""
        t0 = time.perf_counter()
        with self._tx():
            layout, rows = self._get("layout"), int(self._get("rows"))
            old_gen = int(layout["generation"])
            pairs = self.db.execute("SELECT id, row FROM entries ORDER BY row").fetchall()
            unchecked = rows - sum(b[1] for b in self._blocks(old_gen))
            if len(pairs) < rows or unchecked > 0:
                problems = self._problems(old_gen, rows, live=np.array([p[1] for p in pairs], np.int64))
                if problems:
                    raise StoreError(self._damage_message(problems))
                new_gen = old_gen + 1
                src = np.memmap(self._vector_path(old_gen), self.dtype, "r", shape=(rows, self.dim)) if rows else None
                keep = np.array([p[1] for p in pairs], np.int64)
                kept = np.asarray(src[keep]) if src is not None and len(keep) else np.empty((0, self.dim), self.dtype)
                self._append(self._vector_path(new_gen), 0, kept)
                self.db.executemany("INSERT OR REPLACE INTO blocks(generation, first, rows, digest) VALUES (?,?,?,?)",
                                    [(new_gen, f, len(kept[f : f + BLOCK_ROWS]), integrity.digest(kept[f : f + BLOCK_ROWS]))
                                     for f in range(0, len(kept), BLOCK_ROWS)])  # fmt: skip
                self.db.execute("DELETE FROM blocks WHERE generation != ?", (new_gen,))
                self.db.execute("UPDATE entries SET row = -row - 1")  # free the UNIQUE row numbers first
                self.db.executemany("UPDATE entries SET row = ? WHERE id = ?", [(j, p[0]) for j, p in enumerate(pairs)])
                self._put("layout", {**layout, "generation": new_gen})
                self._put("rows", len(pairs))
                self._put("version", int(self._get("version")) + 1)
        current = str(self._get("layout")["generation"])
        for stale in [*self.path.glob("vectors.*"), *self.path.glob("hnsw.*")]:  # unreachable after the commit
            if stale.name.split(".")[1] != current:
                stale.unlink(missing_ok=True)
        self._version = -1
        self._refresh()
        self._build()
        return {**self.index.report, "rebuild_s": round(time.perf_counter() - t0, 3)}

    # -- damage detection ------------------------------------------------------------------------
    def _blocks(self, generation: int) -> list[tuple[int, int, str]]:
        return self.db.execute("SELECT first, rows, digest FROM blocks WHERE generation = ? ORDER BY first",
                               (generation,)).fetchall()  # fmt: skip

    def _problems(self, generation: int, rows: int, *, sample: int | None = None,
                  live: np.ndarray | None = None) -> list[str]:  # fmt: skip
        """What is wrong with the committed vectors of ``generation`` (see :func:`integrity.problems`)."""
        if not rows:
            return []
        blocks = [b for b in self._blocks(generation) if b[0] + b[1] <= rows]
        data = np.memmap(self._vector_path(generation), self.dtype, "r", shape=(rows, self.dim))
        unit = self.metric != "euclidean"
        return integrity.problems(data, blocks, unit=unit, sample=sample, live=live, recent=BLOCK_ROWS)

    def _damage_message(self, problems: list[str]) -> str:
        vpath = self._vector_path(self._generation if hasattr(self, "_generation") else 0)
        return integrity.damage_message(vpath, self.path, problems)

    def verify(self, sample: int | None = None) -> None:
        """Raise :class:`StoreError` naming the file and the fix when the committed vectors are damaged.
        ``sample``: a quick look (the newest block and a few random ones) instead of every block."""
        with self._snapshot():
            rows = int(self._get("rows"))
            generation = int(self._get("layout")["generation"])
            problems = self._problems(generation, rows, sample=sample)
        if problems:
            raise StoreError(self._damage_message(problems))

    def check(self) -> dict[str, Any]:
        """A full check of every block (``faceprint gallery check``): problems found, rows covered."""
        with self._snapshot():
            rows = int(self._get("rows"))
            generation = int(self._get("layout")["generation"])
            problems = self._problems(generation, rows)
            covered = sum(b[1] for b in self._blocks(generation) if b[0] + b[1] <= rows)
        return {"path": str(self.path), "rows": rows, "deleted_rows": int((self._row_to_id < 0).sum()),
                "rows_without_checksum": rows - covered, "problems": problems,
                "fix": "" if not problems else f"faceprint index FOLDER --db {self.path} --rebuild"}  # fmt: skip

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One folder sync at a time: a second writer waits here, then finds the work already done."""
        import fcntl

        fd = os.open(self.path / "sync.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def stats(self) -> dict[str, Any]:
        self._refresh()
        vpath = self._vector_path(self._generation)
        return {
            "backend": "embedded", "path": str(self.path), "dtype": str(self.dtype), "dim": self.dim,
            "metric": self.metric, "rows": self._rows, "deleted_rows": int((self._row_to_id < 0).sum()),
            "vector_bytes": vpath.stat().st_size if vpath.exists() else 0,
            "index": dict(self.index.report) or {"index": "not built yet"},
        }  # fmt: skip

    def close(self) -> None:
        self.db.close()


def _typed(method: Any) -> Any:
    """sqlite3's errors after opening (a file damaged while in use) as StoreError naming the gallery."""

    @functools.wraps(method)
    def wrapper(self: EmbeddedStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StoreError(f"{self.path}: the gallery database is busy ({exc}); is another process writing?") from None
            raise StoreError(integrity.corrupt_message(self.path / "gallery.sqlite", exc)) from None

    return wrapper


for _name in ("search", "entries", "files", "read_meta", "write_meta", "count", "identity_count", "keys_of_identity",
              "apply", "rebuild", "stats", "check", "verify"):  # fmt: skip
    setattr(EmbeddedStore, _name, _typed(getattr(EmbeddedStore, _name)))


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"gallery database is busy or unwritable ({exc}); is another process writing?") from None

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
