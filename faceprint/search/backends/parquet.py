"""Parquet shards: a gallery folder of immutable ``part-*.parquet`` files, searched exactly, shard by shard.

Each write is one new shard, committed by an atomic rename. A shard holds two kinds of rows: faces
(``face >= 0``, with their embedding) and file records (``face = -1``: path, size, mtime, content
hash, status). A write that removes keys rewrites the shards holding them *into the same new file*,
whose footer names the shards it ``replaces``; readers ignore replaced shards, so a crash at any
point leaves either the old or the new state, never half of one. One writer per gallery at a time.

Search is map-reduce: each shard's exact top-k (map), then a merge (reduce) — here in one process,
or elsewhere through a ``map_reduce`` runner given by the caller (on a Ray cluster:
:func:`faceprint.distributed.mapreduce.ray_runner`), so a gallery larger than one machine's memory is searched exactly. Every shard carries the embedding
contract id of the gallery that wrote it; a shard made under another contract is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import ConfigError, ContractError, DependencyError, StoreError
from faceprint.search.backends.base import NewEntry, box_tuple, checked_vectors
from faceprint.search.types import Entry, FileRecord
from faceprint.search.vector_index import exact_search

#: a runner of the map (each shard's top-k) and the merge outside this process
MapReduce = Callable[..., tuple[np.ndarray, np.ndarray]]

_PART = re.compile(r"^part-(\d{8})-[0-9a-f]{8}\.parquet$")
_ROW_COLUMNS = ["key", "identity", "face", "x1", "y1", "x2", "y2", "score"]
_FILE_COLUMNS = ["key", "size", "mtime", "sha256", "status", "faces", "reason"]
_ID_SHIFT = 32  # entry id = shard sequence << 32 | row


def _pa() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DependencyError("Parquet galleries need pyarrow: pip install 'faceprint[ray]' (or pyarrow)") from None
    return pa, pq


def shard_schema(dim: int) -> Any:
    pa, _ = _pa()
    f32 = pa.float32()
    return pa.schema([
        ("key", pa.string()), ("identity", pa.string()), ("face", pa.int32()),
        ("x1", f32), ("y1", f32), ("x2", f32), ("y2", f32), ("score", f32),
        ("size", pa.int64()), ("mtime", pa.float64()), ("sha256", pa.string()), ("status", pa.string()),
        ("faces", pa.int32()), ("reason", pa.string()), ("embedding", pa.list_(f32, dim)),
    ])  # fmt: skip


def read_vectors(path: str | Path, dim: int, contract: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(face rows' vectors (n, dim) float32, their row numbers) of one shard; the map step reads only these."""
    _, pq = _pa()
    f = pq.ParquetFile(path)
    if contract is not None:
        check_shard_contract(path, _footer(f.metadata), contract)
    t = f.read(columns=["face", "embedding"])
    face = t.column("face").to_numpy()
    flat = t.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    vecs = np.asarray(flat, np.float32).reshape(-1, dim)
    rows = np.nonzero(face >= 0)[0]
    return vecs[rows], rows.astype(np.int64)


def shard_topk(path: str | Path, seq: int, dim: int, metric: str, q: np.ndarray, k: int,
               contract: str | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Map: the exact top-k of ``q`` in one shard, as (distances, entry ids), each (n, k) padded with inf / -1."""
    vecs, rows = read_vectors(path, dim, contract)
    d = np.full((len(q), k), np.inf, np.float32)
    i = np.full((len(q), k), -1, np.int64)
    if len(vecs):
        dd, ll = exact_search(vecs, (np.int64(seq) << _ID_SHIFT) | rows, q, k, metric)
        d[:, : dd.shape[1]], i[:, : ll.shape[1]] = dd, ll
    return d, i


def merge_topk(parts: Sequence[tuple[np.ndarray, np.ndarray]], n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce: the k smallest distances over per-shard top-k lists (ties broken by entry id, so the result is
    the same whatever the shard order)."""
    if not parts:
        return np.full((n, k), np.inf, np.float32), np.full((n, k), -1, np.int64)
    d = np.concatenate([p[0] for p in parts], 1)
    i = np.concatenate([p[1] for p in parts], 1)
    order = np.lexsort((i, d), axis=1)[:, :k]
    d, i = np.take_along_axis(d, order, 1), np.take_along_axis(i, order, 1)
    if d.shape[1] < k:
        pad = k - d.shape[1]
        d = np.concatenate([d, np.full((n, pad), np.inf, np.float32)], 1)
        i = np.concatenate([i, np.full((n, pad), -1, np.int64)], 1)
    return d.astype(np.float32), i


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _footer(meta: Any) -> dict[str, Any]:
    raw = (meta.metadata or {}).get(b"faceprint")
    return json.loads(raw) if raw else {}


def check_shard_contract(path: str | Path, footer: dict[str, Any], contract: str) -> None:
    if footer.get("contract") not in (None, "", contract):
        raise ContractError(f"{path}: this shard was made under embedding contract {footer.get('contract')!r}, "
                            f"not this gallery's {contract!r}; move it to a gallery of its own settings")  # fmt: skip


class ParquetStore:
    """A gallery folder of Parquet shards (``parquet:DIR``, or ``backend="parquet"``).

    ``map_reduce``: None searches in this process, shard by shard; else a callable
    ``(shards, dim, metric, queries, k, contract=...) -> (distances, ids)`` that runs the same map and
    merge elsewhere, e.g. :func:`faceprint.distributed.mapreduce.ray_runner` (``pip install 'faceprint[ray]'``).
    The search layer itself never imports the distributed one.
    """

    def __init__(self, path: Path, *, dim: int, metric: str, map_reduce: MapReduce | None = None,
                 create: bool = True) -> None:  # fmt: skip
        _pa()
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path}: a Parquet gallery is a folder, but this is a file; pass a folder path")
        if not path.exists() and not create:
            raise StoreError(f"{path}: no gallery here")
        path.mkdir(parents=True, exist_ok=True)
        self.path, self.dim, self.metric, self.map_reduce = path, dim, metric, map_reduce
        layout = self._read_json("_layout.json")
        if layout is None:
            self._write_json("_layout.json", {"dim": dim, "metric": metric, "format": "faceprint-parquet-1"})
        elif (layout["dim"], layout["metric"]) != (dim, metric):
            raise ContractError(f"{path}: this gallery's embedding contract holds {layout['dim']}-d vectors compared "
                                f"by metric {layout['metric']!r}, not {dim}-d by {metric!r}; open it with its own "
                                "model and metric, or use another gallery")  # fmt: skip
        self._footers: dict[str, dict[str, Any]] = {}
        self._key_hashes: np.ndarray | None = None  # sorted 64-bit hashes of every stored key (writers only)
        self._new_hashes: set[int] = set()

    # -- files -----------------------------------------------------------------------------------
    def _read_json(self, name: str) -> Any:
        p = self.path / name
        return json.loads(p.read_text()) if p.is_file() else None

    def _write_json(self, name: str, value: Any) -> None:
        tmp = self.path / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_text(json.dumps(value))
        os.replace(tmp, self.path / name)

    @property
    def contract_id(self) -> str | None:
        meta = self._read_json("_gallery.json") or {}
        return (meta.get("contract") or {}).get("id")

    def shards(self) -> list[tuple[int, Path]]:
        """The live shards, (sequence, path), in sequence order (replaced ones left out)."""
        _, pq = _pa()
        found: dict[str, int] = {}
        for name in os.listdir(self.path):
            m = _PART.match(name)
            if m:
                found[name] = int(m.group(1))
        replaced: set[str] = set()
        contract = self.contract_id
        for name in found:
            if name not in self._footers:
                try:
                    self._footers[name] = _footer(pq.read_metadata(self.path / name))
                except (OSError, ValueError) as exc:  # pyarrow raises ArrowInvalid (a ValueError) on a bad file
                    raise StoreError(f"{self.path / name}: unreadable shard ({exc}); move it away or restore it") from None
            if contract is not None:
                check_shard_contract(self.path / name, self._footers[name], contract)
            replaced.update(self._footers[name].get("replaces", []))
        return sorted((seq, self.path / n) for n, seq in found.items() if n not in replaced)

    def _table(self, path: Path, columns: list[str]) -> Any:
        _, pq = _pa()
        return pq.read_table(path, columns=columns)

    # -- reading ---------------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        return self._read_json("_gallery.json") or {}

    def write_meta(self, meta: dict[str, Any]) -> None:
        self._write_json("_gallery.json", meta)

    def files(self) -> dict[str, FileRecord]:
        out: dict[str, FileRecord] = {}
        for _, path in self.shards():
            t = self._table(path, ["face", *_FILE_COLUMNS]).to_pylist()
            for r in t:
                if r["face"] < 0:
                    out[r["key"]] = FileRecord(r["key"], r["size"], r["mtime"], r["sha256"], r["status"], r["faces"],
                                               r["reason"] or "")  # fmt: skip
        return out

    def content_hashes(self, statuses: Sequence[str] = ("ok", "no_face")) -> set[str]:
        """Content hashes of the files recorded with one of ``statuses`` (reads two columns per shard)."""
        out: set[str] = set()
        for _, path in self.shards():
            t = self._table(path, ["face", "sha256", "status"])
            face, sha, status = (t.column(c).to_pylist() for c in ("face", "sha256", "status"))
            out.update(s for f, s, st in zip(face, sha, status) if f < 0 and st in statuses)
        return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        shards = self.shards()
        if self.map_reduce is not None:
            return self.map_reduce(shards, self.dim, self.metric, q, k, contract=self.contract_id)
        parts = [shard_topk(p, seq, self.dim, self.metric, q, k) for seq, p in shards]
        return merge_topk(parts, len(q), k)

    def entries(self, ids: Sequence[int]) -> dict[int, Entry]:
        by_seq: dict[int, list[int]] = {}
        for i in ids:
            by_seq.setdefault(int(i) >> _ID_SHIFT, []).append(int(i))
        out: dict[int, Entry] = {}
        for seq, path in self.shards():
            if seq not in by_seq:
                continue
            t = self._table(path, _ROW_COLUMNS)
            rows = [i & ((1 << _ID_SHIFT) - 1) for i in by_seq[seq]]
            for eid, r in zip(by_seq[seq], t.take(rows).to_pylist()):
                out[eid] = Entry(eid, r["key"], r["identity"], r["face"], box_tuple([r["x1"], r["y1"], r["x2"], r["y2"]]),
                                 r["score"] or 0.0)  # fmt: skip
        return out

    def count(self) -> int:
        live = {p.name for _, p in self.shards()}
        return sum(int(f.get("entries", 0)) for n, f in self._footers.items() if n in live)

    def iter_entries(self, batch: int = 10_000) -> Iterator[tuple[list[Entry], np.ndarray]]:
        for seq, path in self.shards():
            t = self._table(path, _ROW_COLUMNS).to_pylist()
            vecs, rows = read_vectors(path, self.dim)
            base = np.int64(seq) << _ID_SHIFT
            entries = [Entry(int(base | r), t[r]["key"], t[r]["identity"], t[r]["face"],
                             box_tuple([t[r][c] for c in ("x1", "y1", "x2", "y2")]), t[r]["score"] or 0.0)
                       for r in rows]  # fmt: skip
            for s in range(0, len(entries), batch):
                yield entries[s : s + batch], vecs[s : s + batch]

    def _rows(self) -> Iterator[dict[str, Any]]:
        for _, path in self.shards():
            yield from self._table(path, ["key", "identity", "face"]).to_pylist()

    def identity_count(self) -> int:
        return len({r["identity"] for r in self._rows() if r["face"] >= 0})

    def keys_of_identity(self, identity: str) -> list[str]:
        return list(dict.fromkeys(r["key"] for r in self._rows() if r["face"] >= 0 and r["identity"] == identity))

    # -- writing ---------------------------------------------------------------------------------
    def apply(
        self,
        *,
        remove_keys: Sequence[str] = (),
        files: Sequence[FileRecord] = (),
        entries: Sequence[NewEntry] = (),
        vectors: np.ndarray | None = None,
    ) -> list[int]:
        """One new shard (surviving rows of shards holding ``remove_keys`` + the new rows), one rename."""
        pa, pq = _pa()
        vecs = checked_vectors(vectors, len(entries), self.dim)
        shards = self.shards()
        seq = max((int(m.group(1)) + 1 for n in os.listdir(self.path) if (m := _PART.match(n))), default=0)
        drop_entries = set(remove_keys)  # faces and file records of these keys go; upserted files replace
        drop_files = drop_entries | {f.path for f in files}  # only their file record
        gone = self._maybe_stored(drop_files, shards)
        kept: list[Any] = []
        replaces: list[str] = []
        if gone:
            for _, path in shards:
                keys = self._table(path, ["key"]).column("key").to_pylist()
                if gone.isdisjoint(keys):
                    continue
                t = pq.read_table(path)
                face = t.column("face").to_pylist()
                mask = pa.array([not (k in drop_files if f < 0 else k in drop_entries) for k, f in zip(keys, face)])
                if all(mask.to_pylist()):
                    continue
                kept.append(t.filter(mask))
                replaces.append(path.name)
        schema = shard_schema(self.dim)
        new = self._new_rows(pa, schema, files, entries, vecs)
        table = pa.concat_tables([*(t.cast(schema) for t in kept), new]) if kept else new
        if table.num_rows == 0 and not replaces:
            return []
        n_kept = sum(t.num_rows for t in kept)
        faces = table.column("face").to_numpy()
        footer = {"contract": self.contract_id or "", "replaces": replaces, "entries": int((faces >= 0).sum()),
                  "files": int((faces < 0).sum()), "dim": self.dim, "metric": self.metric}  # fmt: skip
        table = table.replace_schema_metadata({"faceprint": json.dumps(footer)})
        name = f"part-{seq:08d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.path / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / name)  # the commit
        self._footers[name] = footer
        self._remember(table.column("key").to_pylist())
        for old in replaces:  # garbage now; a crash before this leaves it ignored, not live
            (self.path / old).unlink(missing_ok=True)
        first = n_kept + len(files)
        return [int((np.int64(seq) << _ID_SHIFT) | r) for r in range(first, first + len(entries))]

    def _maybe_stored(self, keys: set[str], shards: list[tuple[int, Path]]) -> set[str]:
        """The keys that may already be stored. A write of new images then touches no old shard; without
        this every write would read the key column of every shard (quadratic over a long job). The hash
        index costs 8 bytes per stored key; a false positive only costs a scan."""
        if not keys:
            return keys
        if self._key_hashes is None:
            stored = [k for _, p in shards for k in self._table(p, ["key"]).column("key").to_pylist()]
            self._key_hashes = np.unique(np.array([_key_hash(k) for k in stored], np.uint64))
        known = self._key_hashes
        out = set()
        for k in keys:
            h = _key_hash(k)
            i = int(np.searchsorted(known, np.uint64(h)))
            if h in self._new_hashes or (i < len(known) and int(known[i]) == h):
                out.add(k)
        return out

    def _remember(self, keys: list[str]) -> None:
        if self._key_hashes is None:
            return  # built from the shards on first need
        self._new_hashes.update(_key_hash(k) for k in keys)
        if len(self._new_hashes) > 100_000:
            merged = np.array(sorted(self._new_hashes), np.uint64)
            self._key_hashes = np.union1d(self._key_hashes, merged)
            self._new_hashes = set()

    def _new_rows(self, pa: Any, schema: Any, files: Sequence[FileRecord], entries: Sequence[NewEntry],
                  vecs: np.ndarray) -> Any:  # fmt: skip
        rows: dict[str, list[Any]] = {n: [] for n in schema.names if n != "embedding"}
        for f in files:
            for c, v in zip(("key", "identity", "face", "size", "mtime", "sha256", "status", "faces", "reason"),
                            (f.path, "", -1, f.size, f.mtime, f.sha256, f.status, f.faces, f.reason)):  # fmt: skip
                rows[c].append(v)
            for c in ("x1", "y1", "x2", "y2", "score"):
                rows[c].append(None)
        for key, ident, face, box, score in entries:
            for c, v in zip(("key", "identity", "face", "score"), (key, ident, int(face), float(score))):
                rows[c].append(v)
            for c, v in zip(("x1", "y1", "x2", "y2"), box or (None,) * 4):
                rows[c].append(v)
            for c in ("size", "mtime", "sha256", "status", "faces", "reason"):
                rows[c].append(None)
        all_vecs = np.concatenate([np.zeros((len(files), self.dim), np.float32), vecs]).reshape(-1)
        emb = pa.FixedSizeListArray.from_arrays(pa.array(all_vecs, pa.float32()), self.dim)
        arrays = [pa.array(rows[n], schema.field(n).type) for n in schema.names if n != "embedding"]
        return pa.Table.from_arrays([*arrays, emb], schema=schema)

    def rebuild(self) -> dict[str, Any]:
        """Nothing to build: search is exact over the shards. Reports the layout."""
        return {"index": "exact map-reduce over Parquet shards", "shards": len(self.shards()), "entries": self.count()}

    def stats(self) -> dict[str, Any]:
        shards = self.shards()
        return {"backend": "parquet", "path": str(self.path), "dim": self.dim, "metric": self.metric,
                "shards": len(shards), "bytes": sum(p.stat().st_size for _, p in shards),
                "index": {"index": "exact map-reduce", "search": "distributed" if self.map_reduce else "local"}}  # fmt: skip

    def close(self) -> None:
        self._footers.clear()
