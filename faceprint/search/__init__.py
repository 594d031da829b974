"""Face search: galleries of enrolled faces, embedded (SQLite + faiss) or on PostgreSQL + pgvector.

Names load lazily, so ``faceprint.search.cli`` (argparse only) imports nothing heavy.
"""

from __future__ import annotations

from faceprint.lazy import lazy_attributes

_LAZY = {
    "EmbeddingContract": "faceprint.search.contract",
    "Gallery": "faceprint.search.gallery",
    "find": "faceprint.search.finder",
    "index": "faceprint.search.finder",
    "open_gallery": "faceprint.search.finder",
    "Entry": "faceprint.search.types",
    "FaceMatches": "faceprint.search.types",
    "FileRecord": "faceprint.search.types",
    "GalleryStats": "faceprint.search.types",
    "IndexReport": "faceprint.search.types",
    "Match": "faceprint.search.types",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
