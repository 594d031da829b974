"""Gallery back ends: ``embedded`` (SQLite + memory-mapped vectors + faiss), ``pgvector``, ``milvus``,
``parquet`` (shards searched exactly by map-reduce)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from faceprint.errors import ConfigError
from faceprint.search.backends.base import Store

BACKENDS = ("embedded", "pgvector", "milvus", "parquet")
#: postgresql://, postgres:// and SQLAlchemy's postgresql+DRIVER:// (any case: URL schemes are case-blind)
_POSTGRES = re.compile(r"(?i)^postgres(?:ql)?(?:\+[a-z0-9_]+)?://")
_MILVUS = re.compile(r"(?i)^(?:milvus:|https?://)")
_PARQUET = re.compile(r"(?i)^parquet:")


def store_kind(location: str | Path, backend: str | None = None) -> str:
    """Which back end serves ``location``: "pgvector", "milvus", "parquet" or "embedded". The one place
    that decides it (open_store, find, index and the CLI ask here).

    ``backend`` wins when given. A folder that already holds an embedded gallery is "embedded" whatever
    its name (a folder may be called ``milvus:faces``); otherwise the URL's scheme decides, and anything
    else is an embedded gallery folder."""
    if backend is not None:
        if backend not in BACKENDS:
            raise ConfigError(f"unknown gallery backend {backend!r}; use {', '.join(BACKENDS)}")
        return backend
    loc = str(location)
    if (Path(loc) / "gallery.sqlite").is_file():
        return "embedded"
    if _POSTGRES.match(loc):
        return "pgvector"
    if _MILVUS.match(loc):
        return "milvus"
    if _PARQUET.match(loc):
        return "parquet"
    return "embedded"


def is_database_url(location: str | Path) -> bool:
    """``location`` names a database or a sharded store (pgvector, Milvus, Parquet), not a gallery folder."""
    return store_kind(location) != "embedded"


def open_store(location: str | Path, *, dim: int, metric: str, **options: Any) -> Store:
    """The store for ``location``: ``postgresql://...`` → pgvector, ``milvus:...`` or a ``.db`` file
    given with ``backend="milvus"`` → Milvus, ``parquet:DIR`` → Parquet shards, anything else → an embedded gallery folder."""
    loc = str(location)
    kind = store_kind(loc, options.pop("backend", None))
    if kind == "pgvector":
        from faceprint.search.backends.pgvector import PgVectorStore

        # psycopg takes postgresql:// and postgres://, not SQLAlchemy's +driver form
        return PgVectorStore(_POSTGRES.sub("postgresql://", loc, count=1), dim=dim, metric=metric, **options)
    if kind == "milvus":
        from faceprint.search.backends.milvus import MilvusStore

        return MilvusStore(re.sub(r"(?i)^milvus:", "", loc), dim=dim, metric=metric, **options)
    if kind == "parquet":
        from faceprint.search.backends.parquet import ParquetStore

        return ParquetStore(Path(_PARQUET.sub("", loc)), dim=dim, metric=metric, **options)
    from faceprint.search.backends.embedded import EmbeddedStore

    return EmbeddedStore(Path(loc), dim=dim, metric=metric, **options)
