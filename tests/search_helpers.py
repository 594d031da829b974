"""Shared, cached builders for the search tests (real faces are slow to embed: each is embedded once)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import numpy as np

from tests.conftest import FACES, IDENTITIES, read_csv

ORL = FACES / "orl"
ORL_SUBJECTS = 20  # of 40: keeps the suite's embedding time modest
ORL_ENROLLED = 4  # images 1..4 enrolled, image 10 held out


def unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def link_tree(root: Path, items: list[tuple[Path, str]]) -> Path:
    """A folder per identity holding symlinks to the shared photos (never copies)."""
    for src, ident in items:
        dst = root / ident / src.name.replace(os.sep, "_")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            dst.symlink_to(src)
    return root


def identity_split() -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """(enrolled, held out): the last image of each identity with 3+ images is held out."""
    rows = [(IDENTITIES / r["file"], r["identity"]) for r in read_csv(IDENTITIES / "labels.csv")]
    by_id: dict[str, list[tuple[Path, str]]] = {}
    for row in rows:
        by_id.setdefault(row[1], []).append(row)
    held = [items[-1] for items in by_id.values() if len(items) >= 3]
    return [r for r in rows if r not in held], held


def orl_split() -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    subjects = [f"s{i}" for i in range(1, ORL_SUBJECTS + 1)]
    enrolled = [(ORL / s / f"{i}.png", s) for s in subjects for i in range(1, ORL_ENROLLED + 1)]
    return enrolled, [(ORL / s / "10.png", s) for s in subjects]


@cache
def built(kind: str, base: str) -> dict:
    """Index ``kind`` ("identities" | "orl") once per session: tree, gallery path, report, query embeddings."""
    from faceprint.search import Gallery

    enrolled, held = identity_split() if kind == "identities" else orl_split()
    tree = link_tree(Path(base) / f"{kind}_tree", enrolled)
    where = Path(base) / f"{kind}_gallery"
    with Gallery(where) as g:
        report = g.sync(tree)
        queries = [(p, ident, g.pipeline.represent(p)[0]) for p, ident in held]
    return {"tree": tree, "gallery": where, "report": report, "queries": queries, "enrolled": enrolled}


_WRITER = """
import sys
import numpy as np
from faceprint.search import Gallery
g = Gallery(sys.argv[1], metric="cosine")
rng = np.random.default_rng(int(sys.argv[2]))
for b in range(100000):
    v = rng.normal(size=(50, 128)).astype(np.float32)
    keys = [f"b{sys.argv[2]}-{b}-{i}" for i in range(50)]
    g.add_vectors(v, [f"p{i}" for i in range(50)], keys=keys)
    if b < 5:
        np.save(sys.argv[3] + f"/{keys[0]}.npy", v[0])
    print(keys[-1], flush=True)  # acknowledged: add_vectors returned
"""


def kill_during_bulk_add(location: str, workdir: Path, seed: int) -> int:
    """Run a bulk writer, SIGKILL it at a random moment, then check that every batch it acknowledged is
    stored, that the gallery reopens, and that search finds stored vectors exactly. Returns the entry count."""
    import pytest

    from faceprint.search import Gallery

    saved = workdir / "saved"
    saved.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, location, str(seed), str(saved)],
                            stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert proc.stdout is not None
    acked = [proc.stdout.readline().strip()]  # wait until it is writing
    # exact indexes: the writer can pass the HNSW threshold, and checking needs no HNSW build
    opts = {"index": "flat"} if not location.startswith("postgresql") else {}
    deadline = time.monotonic() + random.Random(seed).uniform(0.05, 0.6)  # noqa: S311 - test timing, not security
    seen = []
    while time.monotonic() < deadline:  # a second process reading while the first writes
        with Gallery(location, metric="cosine", **opts) as g:
            n = len(g)
            seen.append(n)
            assert n % 50 == 0, f"a reader saw {n} entries: a batch half-written"
            if n:
                assert len(g.search(np.ones(128, np.float32), k=1)[0]) == 1
    os.kill(proc.pid, signal.SIGKILL)
    assert seen == sorted(seen), f"a later read saw fewer entries: {seen}"
    acked += [line.strip() for line in proc.stdout if line.strip()]  # printed before the kill
    proc.wait()
    assert acked[0], "the writer acknowledged nothing before it was killed"
    with Gallery(location, metric="cosine", **opts) as g:  # reopens after the kill
        stored = {e.key for e, _ in g}
        missing = [k for k in acked if k not in stored]
        assert not missing, f"acknowledged but lost after kill -9: {missing[:5]}"
        assert len(g) == len(stored) and len(g) % 50 == 0  # whole batches only: no torn write
        for npy in sorted(saved.glob(f"b{seed}-*.npy")):
            best = g.search(np.load(npy), k=1)[0].best
            assert best.file == npy.stem and best.distance == pytest.approx(0.0, abs=1e-5)
        return len(g)
