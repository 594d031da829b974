"""Exact search over Parquet shards on Ray: map (each shard's top-k, batched queries), reduce (merge).

Each task reads one group of shards (only their face rows' vectors), so no process ever holds the
whole gallery; the driver merges per-shard top-k lists, which gives exactly the brute-force top-k.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.distributed.indexer import _ray, connect
from faceprint.search.backends.parquet import merge_topk, shard_topk


def _map(group: list[tuple[int, str]], dim: int, metric: str, q: np.ndarray, k: int,
         contract: str | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    parts = [shard_topk(path, seq, dim, metric, q, k, contract) for seq, path in group]
    return merge_topk(parts, len(q), k)


def ray_map_reduce(
    shards: Sequence[tuple[int, Path]], dim: int, metric: str, queries: np.ndarray, k: int, *,
    address: str | None = "auto", shards_per_task: int = 1, contract: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(n, k) distances and entry ids over ``shards``, as :meth:`ParquetStore.search` returns them."""
    ray = _ray()
    connect(address)
    q = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
    remote = ray.remote(num_cpus=1, max_retries=3)(_map)
    q_ref = ray.put(q)
    items = [(int(s), str(p)) for s, p in shards]
    groups = [items[i : i + shards_per_task] for i in range(0, len(items), max(1, shards_per_task))]
    refs = [remote.remote(g, dim, metric, q_ref, k, contract) for g in groups]
    parts = ray.get(refs)
    return merge_topk(parts, len(q), k)


def ray_runner(address: str | None = "auto", shards_per_task: int = 1) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """A ``map_reduce`` runner for a Parquet gallery: its search's map step as Ray tasks on ``address``,
    e.g. ``Gallery("parquet:DIR", map_reduce=ray_runner("auto"))``."""
    _ray()  # say what to install now, not at the first search
    return functools.partial(ray_map_reduce, address=address, shards_per_task=shards_per_task)


def search(location: str | os.PathLike[str], queries: Any, k: int = 5, *, address: str | None = "auto",
           **gallery_options: Any) -> list[Any]:  # fmt: skip
    """Search the Parquet gallery at ``location`` (a folder of shards) on Ray; as :meth:`Gallery.search`."""
    from faceprint.search.gallery import Gallery

    loc = str(location)
    loc = loc if loc.startswith("parquet:") else f"parquet:{loc}"
    search_options = {n: gallery_options.pop(n) for n in ("aggregate", "threshold", "faces") if n in gallery_options}
    with Gallery(loc, map_reduce=ray_runner(address or "local"), **gallery_options) as g:
        return g.search(vectors=queries, k=k, **search_options)
