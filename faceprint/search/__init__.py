"""Face search: galleries of enrolled faces, embedded (SQLite + faiss) or on PostgreSQL + pgvector.

Names load lazily, so ``faceprint.search.cli`` (argparse only) imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faceprint.search' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
