"""Top-1 identification accuracy of Gallery search on the shared faces (identities/ and ORL).

Usage: python benchmarks/search_accuracy.py [--shared ../shared] [--orl-enrol 5]

identities/: leave-one-out, every photo of an identity with 2+ photos queried against all the
others. ORL: images 1..E of each of the 40 subjects enrolled, the rest queried. Also counts the
queries where pairwise verification is unambiguous (own identity within the threshold, every
other identity beyond it) and top-1 is still wrong (should be 0). Run on demand; not a test.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np

from faceprint.search import Gallery
from faceprint.verification import distance_matrix


def evaluate(g: Gallery, queries: list[tuple[np.ndarray, str, str]], exclude_self: bool) -> dict[str, float]:
    stored = list(g)
    vecs = np.stack([v for _, v in stored])
    idents = np.array([e.identity for e, _ in stored])
    keys = np.array([e.key for e, _ in stored])
    thr = g.search(queries[0][0], k=1)[0].best.threshold
    right = broken = 0
    for vec, ident, key in queries:
        res = g.search(vec, k=2)[0]
        best = next(m for m in res.matches if not (exclude_self and m.file == key))
        right += best.identity == ident
        d = distance_matrix(vec[None], vecs, g.contract.metric)[0]
        mask = keys != key
        own = d[mask & (idents == ident)].min()
        other = d[mask & (idents != ident)].min()
        broken += bool(own <= thr < other and best.identity != ident)
    return {"queries": len(queries), "top1": right / len(queries), "broken": broken}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--orl-enrol", type=int, default=5)
    args = ap.parse_args()
    faces = Path(args.shared) / "faces"
    with tempfile.TemporaryDirectory() as tmp:
        with open(faces / "identities" / "labels.csv", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        tree = Path(tmp) / "ids"
        for r in rows:
            dst = tree / r["identity"] / r["file"].replace("/", "_")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(faces / "identities" / r["file"])
        with Gallery(Path(tmp) / "g1") as g:
            print(g.sync(tree).summary())
            count: dict[str, int] = {}
            for e, _ in g:
                count[e.identity] = count.get(e.identity, 0) + 1
            queries = [(v, e.identity, e.key) for e, v in g if count[e.identity] >= 2]
            print("identities (leave-one-out):", evaluate(g, queries, exclude_self=True))
        orl = Path(tmp) / "orl"
        held = []
        for s in range(1, 41):
            for i in range(1, 11):
                src = faces / "orl" / f"s{s}" / f"{i}.png"
                if i <= args.orl_enrol:
                    (orl / f"s{s}").mkdir(parents=True, exist_ok=True)
                    (orl / f"s{s}" / src.name).symlink_to(src)
                else:
                    held.append((src, f"s{s}"))
        with Gallery(Path(tmp) / "g2") as g:
            print(g.sync(orl).summary())
            queries = [(g.pipeline.represent(p)[0].embedding, ident, str(p)) for p, ident in held]
            print(f"ORL ({args.orl_enrol} enrolled per subject):", evaluate(g, queries, exclude_self=False))


if __name__ == "__main__":
    main()
