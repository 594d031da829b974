"""Where finished images go: any gallery back end (embedded, pgvector via binary COPY, Milvus, Parquet shards).

The driver is the only writer. Each write is one store transaction that replaces the images' paths,
so a batch delivered twice (a retried task) is stored once; content hashes recorded in the file
records are what a rerun skips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faceprint.search.types import FileRecord

#: statuses a rerun skips; errors are retried (they may be transient, e.g. an object store hiccup)
FINAL = ("ok", "no_face")


@dataclass
class DoneImage:
    """One image, complete: its file facts and every face with its embedding."""

    key: str  # sha256 of the file's bytes
    path: str
    identity: str
    size: int
    mtime: float
    status: str
    reason: str = ""
    faces: list[tuple[int, tuple[float, float, float, float], float, np.ndarray]] = field(default_factory=list)


class GallerySink:
    """Writes into a :class:`~faceprint.search.Gallery` (which checks the embedding contract on open)."""

    def __init__(self, db: str, *, model: str, detector: str, align: str, metric: str | None,
                 **store_options: Any) -> None:  # fmt: skip
        from faceprint.search.gallery import Gallery

        self.gallery = Gallery(db, model=model, detector=detector, align=align, metric=metric, **store_options)
        self.contract = self.gallery.contract

    def stored_hashes(self) -> set[str]:
        store = self.gallery.store
        if hasattr(store, "content_hashes"):  # Parquet: two columns per shard, not whole file records
            return set(store.content_hashes(FINAL))
        return {f.sha256 for f in store.files().values() if f.status in FINAL and f.sha256}

    def write(self, images: list[DoneImage]) -> int:
        """Store ``images`` in one transaction; returns the faces written."""
        if not images:
            return 0
        files = [FileRecord(im.path, im.size, im.mtime, im.key, im.status, len(im.faces), im.reason) for im in images]
        entries = [(im.path, im.identity, f, box, score) for im in images for f, box, score, _ in im.faces]
        vecs = [v for im in images for *_, v in im.faces]
        prepared = self.gallery._prepare(np.stack(vecs)) if vecs else None  # the gallery's own normalisation
        self.gallery.store.apply(remove_keys=[im.path for im in images], files=files, entries=entries, vectors=prepared)
        return len(entries)

    def close(self) -> None:
        self.gallery.close()
