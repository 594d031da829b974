"""Scale-out on Ray: index image lists across a cluster, search Parquet shards by exact map-reduce.

``pip install 'faceprint[ray]'``. Names load lazily: importing this package imports no Ray.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "index": "faceprint.distributed.indexer",
    "connect": "faceprint.distributed.indexer",
    "DistributedReport": "faceprint.distributed.indexer",
    "Progress": "faceprint.distributed.indexer",
    "search": "faceprint.distributed.mapreduce",
    "ray_map_reduce": "faceprint.distributed.mapreduce",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'faceprint.distributed' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
