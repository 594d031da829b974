"""The store interface every gallery back end implements (embedded files, PostgreSQL, Milvus)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from faceprint.errors import ConfigError
from faceprint.search.types import Entry, FileRecord

#: Entry fields a back end stores, in order (``id`` is assigned by the store).
NewEntry = tuple[str, str, int, "tuple[float, float, float, float] | None", float]  # key, identity, face, box, score


@runtime_checkable
class Store(Protocol):
    """Metadata + vectors of one gallery. Every write is one transaction: durable when it returns.

    Distances returned by :meth:`search` are in the store's metric ("cosine", "euclidean" or
    "euclidean_l2"); vectors given to the store are already normalised when the metric needs it.
    """

    dim: int
    metric: str

    def read_meta(self) -> dict[str, Any]: ...

    def write_meta(self, meta: dict[str, Any]) -> None: ...

    def files(self) -> dict[str, FileRecord]: ...

    def apply(
        self,
        *,
        remove_keys: Sequence[str] = (),
        files: Sequence[FileRecord] = (),
        entries: Sequence[NewEntry] = (),
        vectors: np.ndarray | None = None,
    ) -> list[int]:
        """In one transaction: drop the entries and file records of ``remove_keys``, upsert ``files``,
        insert ``entries`` with their ``vectors``; returns the new entry ids."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) distances (ascending) and entry ids (-1 where fewer than k exist)."""
        ...

    def entries(self, ids: Sequence[int]) -> dict[int, Entry]: ...

    def count(self) -> int: ...

    def identity_count(self) -> int: ...

    def iter_entries(self, batch: int = 10_000) -> Iterator[tuple[list[Entry], np.ndarray]]:
        """Every stored entry with its vector, in batches (for copying a gallery to another store)."""
        ...

    def keys_of_identity(self, identity: str) -> list[str]: ...

    def rebuild(self) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


def ip_to_distance(sim: np.ndarray, metric: str) -> np.ndarray:
    """Inner products of unit vectors → the metric's distance."""
    if metric == "cosine":
        return (1.0 - sim).astype(np.float32)
    return np.sqrt(np.maximum(2.0 - 2.0 * sim, 0.0)).astype(np.float32)


def box_tuple(values: Sequence[float | None] | None) -> tuple[float, float, float, float] | None:
    if values is None or any(v is None for v in values):
        return None
    x1, y1, x2, y2 = (float(v) for v in values)  # type: ignore[arg-type]
    return (x1, y1, x2, y2)


def checked_vectors(vectors: np.ndarray | None, n: int, dim: int, dtype: Any = np.float32) -> np.ndarray:
    """``vectors`` as an (n, dim) array of ``dtype`` (empty when None), or a ConfigError saying what arrived."""
    vecs = np.empty((0, dim), dtype) if vectors is None else np.asarray(vectors, dtype)
    if vecs.shape != (n, dim):
        raise ConfigError(f"expected {n} vectors of {dim} dims, got shape {vecs.shape}")
    return vecs


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<secret>[^/\s]*)@")
_PARAM = re.compile(r"(?i)\b(password|passwd|token|secret)=([^&\s]+)")


def redact(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` URL (and ``password=``,
    ``token=`` parameters) replaced by ``***``: for messages, logs, ``stats()`` and ``repr``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", str(text))
    return _PARAM.sub(lambda m: f"{m.group(1)}=***", text)
