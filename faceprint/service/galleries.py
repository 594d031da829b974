"""Named galleries under the service's ``db``: a folder (one sub-folder per gallery) or a PostgreSQL URL
(``url#name``). Each open gallery has its own single thread: the embedded store's SQLite connection
belongs to the thread that opened it, and one writer per gallery keeps writes ordered."""

from __future__ import annotations

import asyncio
import contextvars
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from faceprint.errors import ContractError
from faceprint.search.gallery import Gallery
from faceprint.search.ranking import content_key
from faceprint.search.types import FaceMatches, IndexReport
from faceprint.service.config import ServiceConfig
from faceprint.service.errors import Problem
from faceprint.types import Representation

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
METRICS = ("cosine", "euclidean", "euclidean_l2")
T = TypeVar("T")


def _is_url(db: str) -> bool:
    from faceprint.search.backends import store_kind

    return store_kind(db) == "pgvector"


class Galleries:
    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.db = cfg.db
        self._open: dict[str, tuple[Gallery, ThreadPoolExecutor]] = {}
        self._meta = ThreadPoolExecutor(1, thread_name_prefix="faceprint-galleries")  # create / list / open

    def _require_db(self) -> str:
        if not self.db:
            raise Problem("not-found", "this server has no gallery storage; start it with --db FOLDER or postgresql://...")
        return self.db

    def _location(self, name: str) -> str:
        db = self._require_db()
        if not NAME.match(name):
            raise Problem("invalid-option", f"gallery name {name!r}: use 1-40 of a-z, 0-9 and _, starting with a letter")
        return f"{db}#{name}" if _is_url(db) else str(Path(db) / name)

    def location(self, name: str) -> str:
        """Where gallery ``name`` is stored (a folder or ``postgresql://...#name``), for opening it elsewhere."""
        return self._location(name)

    # -- catalogue (meta thread) -----------------------------------------------------------------
    def _names(self) -> list[str]:
        db = self._require_db()
        if _is_url(db):
            import psycopg

            with psycopg.connect(db.partition("#")[0]) as conn:
                rows = conn.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = current_schema() AND table_name LIKE %s", ("%\\_meta",)).fetchall()  # fmt: skip
            return sorted(n for (t,) in rows if NAME.match(n := t.removesuffix("_meta")))
        root = Path(db)
        return sorted(p.name for p in root.iterdir() if NAME.match(p.name) and (p / "gallery.sqlite").is_file()) if root.is_dir() else []

    def _opts(self, metric: str | None) -> dict[str, Any]:
        c = self.cfg
        return {"model": c.model, "detector": c.detector, "align": c.align, "metric": metric}

    def _open_existing(self, name: str) -> Gallery:
        loc = self._location(name)
        if name not in self._names():
            raise Problem("gallery-not-found", f"no gallery {name!r}; create it with POST /v1/galleries")
        first: ContractError | None = None
        for metric in (None, *METRICS):  # the stored contract decides; the first metric that fits opens it
            try:
                return Gallery(loc, **self._opts(metric))
            except ContractError as exc:
                first = first or exc
        raise Problem("contract-mismatch", f"gallery {name!r} was made with other settings than this server's: {first}")

    def _create(self, name: str, metric: str | None) -> Gallery:
        loc = self._location(name)
        if name in self._names():
            raise Problem("gallery-exists", f"gallery {name!r} already exists")
        return Gallery(loc, **self._opts(metric))

    async def _in(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(pool.submit(contextvars.copy_context().run, fn, *args))

    async def names(self) -> list[str]:
        return await self._in(self._meta, self._names)

    async def create(self, name: str, metric: str | None) -> dict[str, Any]:
        if metric is not None and metric not in METRICS:
            raise Problem("invalid-option", f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        self._location(name)
        pool = ThreadPoolExecutor(1, thread_name_prefix=f"faceprint-gallery-{name}")
        try:
            g = await self._in(pool, self._create, name, metric)
        except BaseException:
            pool.shutdown(wait=False)
            raise
        self._open[name] = (g, pool)
        return await self.describe(name)

    async def _get(self, name: str) -> tuple[Gallery, ThreadPoolExecutor]:
        if name not in self._open:
            self._location(name)
            pool = ThreadPoolExecutor(1, thread_name_prefix=f"faceprint-gallery-{name}")
            try:
                g = await self._in(pool, self._open_existing, name)
            except BaseException:
                pool.shutdown(wait=False)
                raise
            if name in self._open:  # another request opened it meanwhile
                await self._in(pool, g.close)
                pool.shutdown(wait=False)
            else:
                self._open[name] = (g, pool)
        return self._open[name]

    async def run(self, name: str, fn: Callable[[Gallery], T]) -> T:
        g, pool = await self._get(name)
        return await self._in(pool, fn, g)

    # -- operations (each gallery's thread) ------------------------------------------------------
    async def describe(self, name: str) -> dict[str, Any]:
        def info(g: Gallery) -> dict[str, Any]:
            s = g.stats()
            return {"name": name, "entries": s.entries, "identities": s.identities, "contract": s.contract}

        return await self.run(name, info)

    async def enrol(self, name: str, images: list[tuple[str, np.ndarray, bytes]], identity: str) -> dict[str, Any]:
        """Enrol (field, decoded pixels, encoded bytes) images: keys from the pixels, embeddings from the bytes."""
        keys = {content_key(px): field for field, px, _ in images}

        def add(g: Gallery) -> IndexReport:
            return g.add([data for _, _, data in images], identity=identity)

        report = await self.run(name, add)
        return {"identity": identity, "images": len(images), "indexed": report.indexed, "faces": report.faces,
                "no_face": [keys.get(k, k) for k in report.no_face],
                "errors": [{"field": keys.get(k, k), "detail": why} for k, why in report.errors]}  # fmt: skip

    async def enrol_vectors(self, name: str, vectors: np.ndarray, identity: str) -> list[int]:
        return await self.run(name, lambda g: g.add_vectors(vectors, identity))

    async def faces(self, name: str, offset: int, limit: int) -> dict[str, Any]:
        def page(g: Gallery) -> dict[str, Any]:
            items = []
            for i, (e, _) in enumerate(g):
                if i >= offset + limit:
                    break
                if i >= offset:
                    items.append({"id": e.id, "identity": e.identity, "key": e.key, "face": e.face,
                                  "box": list(e.box) if e.box else None, "score": e.score})  # fmt: skip
            return {"total": len(g), "offset": offset, "limit": limit, "items": items}

        return await self.run(name, page)

    async def delete_face(self, name: str, entry_id: int) -> int:
        def delete(g: Gallery) -> int:
            found = g.store.entries([entry_id])
            if entry_id not in found:
                raise Problem("not-found", f"gallery {name!r} has no face with id {entry_id}")
            return g.remove(found[entry_id].key)

        return await self.run(name, delete)

    async def delete_identity(self, name: str, identity: str) -> int:
        n = await self.run(name, lambda g: g.remove(identity=identity))
        if n == 0:
            raise Problem("not-found", f"gallery {name!r} has no faces of identity {identity!r}")
        return n

    async def search(self, name: str, query: list[Representation] | np.ndarray, k: int, aggregate: str | None,
                     threshold: float | None) -> list[FaceMatches]:  # fmt: skip
        return await self.run(name, lambda g: g.search(query, k, aggregate=aggregate, threshold=threshold))

    def close(self) -> None:
        for g, pool in self._open.values():
            pool.submit(g.close).result(timeout=30)
            pool.shutdown(wait=True)
        self._open.clear()
        self._meta.shutdown(wait=False)
