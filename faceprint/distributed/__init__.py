"""Scale-out on Ray: index image lists across a cluster, search Parquet shards by exact map-reduce.

``pip install 'faceprint[ray]'``. Names load lazily: importing this package imports no Ray.
"""

from __future__ import annotations

from faceprint.lazy import lazy_attributes

_LAZY = {
    "index": "faceprint.distributed.indexer",
    "connect": "faceprint.distributed.indexer",
    "DistributedReport": "faceprint.distributed.indexer",
    "Progress": "faceprint.distributed.indexer",
    "search": "faceprint.distributed.mapreduce",
    "ray_map_reduce": "faceprint.distributed.mapreduce",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
