"""Effect of ``normalize="mask"`` on verification with dlib's ResNet, side by side in one run.

Usage: python benchmarks/normalize.py [--shared ../shared] [--detector mtcnn]

- identities/: deepface's ``master.csv`` pairs (276, 37 same) and ``face-recognition-pivot.csv`` (271, 135 same);
- ORL: all pairs of the 400 images (1,800 genuine, 78,000 impostor).
Per setting: accuracy at dlib's published threshold (euclidean 0.6), best accuracy over thresholds,
ROC AUC and EER. ms/face is detect + align (+ dense landmarks + mask) + embed, per image.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _embed(pipe, paths: list[Path]) -> tuple[dict[str, np.ndarray], float]:
    out, t = {}, time.perf_counter()
    for p in paths:
        reps = pipe.represent(p, enforce_detection=False)
        out[str(p)] = reps[0].embedding
    return out, (time.perf_counter() - t) * 1000 / max(len(paths), 1)


def _figures(d: np.ndarray, same: np.ndarray) -> tuple[float, float, float, float]:
    from faceprint.evaluation.metrics import accuracy, auc, best_accuracy_threshold, eer

    return accuracy(d, same, 0.6), best_accuracy_threshold(d, same)[1], auc(d, same), eer(d, same)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("FACEPRINT_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--detector", default="mtcnn")
    args = ap.parse_args()
    shared = Path(args.shared)
    os.environ.setdefault("FACEPRINT_WEIGHTS_PATH", str(shared / "weights"))
    os.environ.setdefault("FACEPRINT_OFFLINE", "1")
    from faceprint import Pipeline
    from faceprint.evaluation.pairs import read_pairs

    ident = shared / "faces" / "identities"
    lists = {}
    for name in ("master.csv", "face-recognition-pivot.csv"):
        lists[name] = [(p.img1, p.img2, p.same) for p in read_pairs(ident / name, ident)]
    orl = shared / "faces" / "orl"
    with open(orl / "labels.csv", newline="", encoding="utf-8") as f:
        orl_rows = [(orl / r["file"], r["subject"]) for r in csv.DictReader(f)]
    ident_paths = sorted({p for pairs in lists.values() for a, b, _ in pairs for p in (a, b)})

    rows = []
    for label, opts in (("none", {}), ("mask, 68 points", {"normalize": "mask", "normalize_landmarks": "68"}),
                        ("mask, 468 points", {"normalize": "mask", "normalize_landmarks": "468"})):  # fmt: skip
        pipe = Pipeline(args.detector, "dlib", **opts)
        emb, ms_i = _embed(pipe, ident_paths)
        for name, pairs in lists.items():
            d = np.array([np.linalg.norm(emb[str(a)] - emb[str(b)]) for a, b, _ in pairs])
            same = np.array([s for _, _, s in pairs])
            rows.append((f"identities {name} ({len(pairs)} pairs)", label, *_figures(d, same), ms_i))
        emb, ms_o = _embed(pipe, [p for p, _ in orl_rows])
        v = np.stack([emb[str(p)] for p, _ in orl_rows])
        subj = np.array([s for _, s in orl_rows])
        iu = np.triu_indices(len(v), 1)
        d = np.linalg.norm(v[iu[0]] - v[iu[1]], axis=1)
        same = subj[iu[0]] == subj[iu[1]]
        rows.append((f"ORL all pairs ({same.sum()} genuine)", label, *_figures(d, same), ms_o))
    print("| pairs | normalize | acc @0.6 | best acc | AUC | EER | ms/image |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, label, a, b, c, e, ms in sorted(rows, key=lambda r: r[0]):
        print(f"| {name} | {label} | {a:.3f} | {b:.3f} | {c:.4f} | {e:.3f} | {ms:.0f} |")


if __name__ == "__main__":
    main()
