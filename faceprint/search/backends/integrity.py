"""Damage detection for the embedded gallery: a checksum per committed block of vector rows, plus finite
and unit-length checks, and the messages that name the damaged file and the fix."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Rows checked per step of the finite/unit-length pass: memory stays bounded whatever the gallery size.
_SLICE = 65536


def digest(vectors: np.ndarray) -> str:
    """The checksum of a block of stored vectors (their bytes, in row order)."""
    return hashlib.blake2b(np.ascontiguousarray(vectors).tobytes(), digest_size=16).hexdigest()


def problems(
    data: np.ndarray, blocks: Sequence[tuple[int, int, str]], *, unit: bool, sample: int | None = None,
    live: np.ndarray | None = None, recent: int = 4096,
) -> list[str]:  # fmt: skip
    """What is wrong with the vectors ``data`` (rows, dim): blocks ``(first, rows, digest)`` whose checksum
    fails, rows that are not finite, rows off the unit sphere (``unit``). ``sample``: the last block and
    that many random others only (or the ``recent`` newest rows when there are no checksums);
    ``live``: only blocks and rows holding these row numbers."""
    rows = len(data)
    blocks = list(blocks)
    alive = None
    if live is not None:
        alive = np.zeros(rows, bool)
        alive[live[(live >= 0) & (live < rows)]] = True
        blocks = [b for b in blocks if alive[b[0] : b[0] + b[1]].any()]
    if sample is not None and len(blocks) > sample + 1:
        pick = np.random.default_rng().choice(len(blocks) - 1, size=sample, replace=False)
        blocks = [blocks[i] for i in sorted(pick)] + [blocks[-1]]
    found = []
    for first, n, want in blocks:
        if digest(np.asarray(data[first : first + n])) != want:
            found.append(f"vectors {first}..{first + n - 1} do not match the checksum recorded when they were "
                         "stored (overwritten, swapped or damaged)")  # fmt: skip
    if sample is not None:
        spans = [(f, f + n) for f, n, _ in blocks] or [(max(rows - recent, 0), rows)]
    else:
        spans = [(f, min(f + _SLICE, rows)) for f in range(0, rows, _SLICE)]
    tolerance = 2e-2 if data.dtype == np.float16 else 1e-3
    for lo, hi in spans:
        idx = np.arange(lo, hi)
        if alive is not None:
            idx = idx[alive[idx]]
        if not len(idx):
            continue
        chunk = np.asarray(data[idx], np.float32)
        finite = np.isfinite(chunk).all(axis=1)
        if not finite.all():
            found.append(f"{int((~finite).sum())} vector row(s) hold NaN or infinity (first: row {int(idx[~finite][0])})")
        if unit:
            off = np.abs(np.linalg.norm(chunk[finite], axis=1) - 1.0) > tolerance
            if off.any():
                found.append(f"{int(off.sum())} vector row(s) are not unit length as this gallery stores them "
                             f"(first: row {int(idx[finite][off][0])})")  # fmt: skip
    return found


def damage_message(vpath: Path, gallery: Path, found: list[str]) -> str:
    more = f" (and {len(found) - 2} more problems)" if len(found) > 2 else ""
    return (f"{vpath}: the gallery is damaged: {'; '.join(found[:2])}{more}. Searching it could return wrong "
            f"matches. Re-index from the photos: faceprint index FOLDER --db {gallery} --rebuild (or delete "
            f"{gallery} and index again)")  # fmt: skip


def corrupt_message(dbfile: Path, exc: Exception) -> str:
    return (f"{dbfile}: the gallery database is corrupt ({exc}). Index the photos again into a fresh gallery: "
            f"faceprint index FOLDER --db {dbfile.parent} --rebuild (moves the damaged gallery aside)")  # fmt: skip


def damaged_message(path: Path, what: str) -> str:
    return (f"{path / 'gallery.sqlite'}: the gallery metadata is damaged: {what}. Index the photos again: "
            f"faceprint index FOLDER --db {path} --rebuild")  # fmt: skip
