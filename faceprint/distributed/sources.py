"""Image lists as Ray Datasets of (path, identity): a folder, a text/CSV list of paths or URIs, or Parquet.

Paths in a list may be local or any URI a pyarrow filesystem opens (``s3://``, ``gs://``, ``hdfs://``);
relative paths in a list file are taken relative to that file's folder. The identity is the list's
``identity`` column when it has one (CSV / Parquet), else the image's parent folder name (for a
folder: its first sub-folder, as ``faceprint index`` does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.errors import ConfigError
from faceprint.search.folder import identity_of, walk_images

PATH_COLUMNS = ("path", "file", "uri", "image")
IDENTITY_COLUMNS = ("identity", "label", "subject", "person")


def is_uri(path: str) -> bool:
    """A URI for a pyarrow filesystem (``s3://``, ``gs://``, ``hdfs://``, ``file://``), not a local path."""
    return "://" in path


def _parent_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 2)[-2] if "/" in path.rstrip("/") else ""


def read_image_list(photos: str | os.PathLike[str], *, identity_column: str | None = None) -> Any:
    """A Ray Dataset with string columns ``path`` (absolute, or a URI) and ``identity``."""
    import ray

    src = str(photos).removeprefix("file://")  # the list file itself: a local path
    if not is_uri(src) and Path(src).is_dir():
        root = Path(os.path.abspath(src))
        items = [{"path": str(p), "identity": identity_of(p, root, "folder")} for p, why in walk_images(root) if not why]
        return ray.data.from_items(items) if items else ray.data.from_items([{"path": "", "identity": ""}]).limit(0)
    suffix = src.lower().rsplit(".", 1)[-1] if "." in src.rsplit("/", 1)[-1] else ""
    if not is_uri(src) and not Path(src).is_file():
        raise ConfigError(f"{src}: no such folder or list file; pass a folder of images, a .txt/.csv list or a .parquet file")
    if suffix in ("txt", "lst", "list"):
        ds = ray.data.read_text(src).filter(lambda r: bool(r["text"].strip()))
        ds = ds.map(lambda r: {"path": r["text"].strip()})
    elif suffix == "csv":
        ds = ray.data.read_csv(src)
    elif suffix in ("parquet", "pq"):
        ds = ray.data.read_parquet(src)
    else:
        raise ConfigError(f"{src}: unknown list format {suffix!r}; use .txt (one path per line), .csv or .parquet")
    names = ds.schema().names
    path_col = next((c for c in PATH_COLUMNS if c in names), None)
    if path_col is None:
        raise ConfigError(f"{src}: no path column; name one of {', '.join(PATH_COLUMNS)} (columns: {', '.join(names)})")
    ident_col = identity_column or next((c for c in IDENTITY_COLUMNS if c in names), None)
    if identity_column and identity_column not in names:
        raise ConfigError(f"{src}: no column {identity_column!r} (columns: {', '.join(names)})")
    base = "" if is_uri(src) else os.path.dirname(os.path.abspath(src))
    return ds.map_batches(_normalise, fn_kwargs={"path_col": path_col, "ident_col": ident_col, "base": base},
                          batch_format="numpy", zero_copy_batch=False)  # fmt: skip


def _normalise(batch: dict[str, np.ndarray], *, path_col: str, ident_col: str | None, base: str) -> dict[str, np.ndarray]:
    paths = []
    for p in batch[path_col]:
        p = str(p).strip()
        if not is_uri(p):
            p = os.path.normpath(os.path.join(base, p)) if base and not os.path.isabs(p) else os.path.abspath(p)
        paths.append(p)
    idents = [str(x) for x in batch[ident_col]] if ident_col else [_parent_name(p) for p in paths]
    return {"path": np.array(paths, dtype=object), "identity": np.array(idents, dtype=object)}
