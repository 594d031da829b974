"""Old import path of the weight lookup, kept for users' code: it lives in :mod:`faceprint.models.weights`
(patch settings such as ``MAX_UNPINNED_BYTES`` there). Nothing inside faceprint imports this module.
"""

from __future__ import annotations

from faceprint.models.weights import (
    MAX_UNPINNED_BYTES,
    cache_dir,
    candidates,
    check,
    download,
    find_local,
    home,
    offline,
    package_path,
    resolve,
    search_dirs,
    sha256_of,
)

__all__ = ["MAX_UNPINNED_BYTES", "cache_dir", "candidates", "check", "download", "find_local", "home", "offline",
           "package_path", "resolve", "search_dirs", "sha256_of"]  # fmt: skip
