"""Gallery back ends: ``embedded`` (SQLite + memory-mapped vectors + faiss), ``pgvector``, ``milvus``,
``parquet`` (shards searched exactly by map-reduce)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceprint.errors import ConfigError
from faceprint.search.backends.base import Store


def open_store(location: str | Path, *, dim: int, metric: str, **options: Any) -> Store:
    """The store for ``location``: ``postgresql://...`` → pgvector, ``milvus:...`` or a ``.db`` file
    given with ``backend="milvus"`` → Milvus, ``parquet:DIR`` → Parquet shards, anything else → an embedded gallery folder."""
    loc = str(location)
    backend = options.pop("backend", None)
    if backend == "pgvector" or loc.startswith(("postgresql://", "postgres://")):
        from faceprint.search.backends.pgvector import PgVectorStore

        return PgVectorStore(loc, dim=dim, metric=metric, **options)
    if backend == "milvus" or loc.startswith(("milvus:", "http://", "https://")):
        from faceprint.search.backends.milvus import MilvusStore

        return MilvusStore(loc.removeprefix("milvus:"), dim=dim, metric=metric, **options)
    if backend == "parquet" or loc.startswith("parquet:"):
        from faceprint.search.backends.parquet import ParquetStore

        return ParquetStore(Path(loc.removeprefix("parquet:")), dim=dim, metric=metric, **options)
    if backend not in (None, "embedded"):
        raise ConfigError(f"unknown gallery backend {backend!r}; use embedded, pgvector, milvus or parquet")
    from faceprint.search.backends.embedded import EmbeddedStore

    return EmbeddedStore(Path(loc), dim=dim, metric=metric, **options)
