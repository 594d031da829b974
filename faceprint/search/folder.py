"""Walking an image folder tree and deciding which files changed since the last sync."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from faceprint.files import escape_text, key_path, walk
from faceprint.search.types import FileRecord

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".gif"})
#: Files that are expected in a photo folder and not worth reporting as skipped.
QUIET = frozenset({".csv", ".txt", ".md", ".json", ".pkl", ".db", ".ds_store"})

IdentityRule = str | Callable[[Path], str]


def walk_images(root: Path) -> Iterator[tuple[Path, str | None]]:
    """(path, None) for each image under ``root``, (path, reason) for entries skipped (other files, special
    files, broken links, loops, symlinked folders); hidden folders (``.faceprint`` galleries among them)
    are not entered. The same walker as :func:`faceprint.image.iter_images`."""
    return walk(root, IMAGE_EXTS, quiet=QUIET)


def identity_of(path: Path, root: Path, rule: IdentityRule) -> str:
    """The identity label of ``path``: its first sub-folder under ``root`` ("folder"), its file stem ("file"),
    or what a callable returns. Files directly in ``root`` get their stem under "folder"."""
    if callable(rule):
        return escape_text(str(rule(path)))
    rel = path.relative_to(root)
    if rule == "folder" and len(rel.parts) > 1:
        return escape_text(rel.parts[0])  # a non-UTF-8 folder name as text a database stores
    return escape_text(path.stem)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def classify(path: Path, known: FileRecord | None) -> tuple[str, FileRecord | None, os.stat_result]:
    """("unchanged" | "touched" | "changed", record to store for "touched", stat).

    Size + mtime equal → unchanged without reading the file; otherwise the content hash decides, so a
    copied or touched file is not re-embedded.
    """
    st = path.stat()
    if known is not None and known.size == st.st_size and known.mtime == st.st_mtime:
        return "unchanged", None, st
    if known is not None and known.sha256 == sha256_file(path):
        return "touched", FileRecord(known.path, st.st_size, st.st_mtime, known.sha256, known.status,
                                     known.faces, known.reason), st  # fmt: skip
    return "changed", None, st


def under(key: str, root: Path) -> bool:
    return key_path(key).startswith(str(root) + os.sep)
