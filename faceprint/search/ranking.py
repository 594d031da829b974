"""Small helpers of :class:`~faceprint.search.gallery.Gallery`: ranking by identity, keys, progress bars."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from faceprint.search.types import Entry, Match


def aggregate_hits(hits: list[tuple[float, Entry]], how: str | None, k: int, thr: float, metric: str) -> list[Match]:
    def match(d: float, e: Entry, n: int = 1) -> Match:
        return Match(e.identity, e.key, d, thr, metric, e.id, e.face, e.box, n)

    if how is None:
        return [match(d, e) for d, e in hits[:k]]
    groups: dict[str, list[tuple[float, Entry]]] = {}
    for d, e in hits:
        groups.setdefault(e.identity, []).append((d, e))
    scored = []
    for group in groups.values():
        best_d, best_e = min(group, key=lambda h: h[0])
        score = best_d if how == "min" else float(np.mean([d for d, _ in group]))
        scored.append(match(score, best_e, len(group)))
    return sorted(scored, key=lambda m: m.distance)[:k]


def content_key(item: Any) -> str:
    data = np.ascontiguousarray(item).tobytes() if isinstance(item, np.ndarray) else bytes(item)
    return f"image:{hashlib.sha256(data).hexdigest()[:16]}"


def progress_bar(total: int, enabled: bool, desc: str) -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="img")
