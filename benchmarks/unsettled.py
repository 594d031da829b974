"""Shapes that do not settle: how many fixture faces' 5-point refinement keeps moving, and their chips.

Usage: python benchmarks/unsettled.py [--faces ../shared/faces] [--antispoof-step 3]

For every MTCNN face of group/, identities/, orl/, age_gender/ and every third antispoof/ frame, the
default pipeline's refinement is run from the predictor's usual start (the HOG-like box of MTCNN's
box) and its final gap measured: how far the last shape's canonical box is from the box that shape was
predicted on, a fraction of its side (``alignment.UNSETTLED`` is the limit). Each face above it is
embedded (no TTA) with and without the check against MTCNN's own landmarks (``ShapePredictor5.refine``'s
``anchors``), and compared with
dlib's own CNN pipeline (``Pipeline(detector="dlib_mmod")``: MMOD's box, the same predictor and
refinement), the pipeline dlib's ResNet comes with; an L2 above ~0.3 means a misplaced chip.

Nothing here is a test; docs/accuracy.md quotes the figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import faceprint.alignment as alignment
from faceprint.alignment import REFINE_PASSES, UNSETTLED
from faceprint.image import load_image
from faceprint.pipeline import Pipeline
from faceprint.video.tracker import iou_matrix

SETS = ("group", "identities", "orl", "age_gender", "antispoof")


def iou(a, b) -> float:
    return float(iou_matrix(np.array([a], np.float64), np.array([b], np.float64))[0, 0])


def images(root: Path, antispoof_step: int) -> list[Path]:
    out = []
    for name in SETS:
        files = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        out += files[::antispoof_step] if name == "antispoof" else files
    return out


def embedding_at(pipe: Pipeline, path: Path, box) -> np.ndarray | None:
    reps = pipe.represent(str(path), faces="all", enforce_detection=False)
    best = max(reps, key=lambda r: iou(r.face.box, box), default=None)
    return None if best is None or iou(best.face.box, box) < 0.3 else np.asarray(best.embedding)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "faces")
    ap.add_argument("--antispoof-step", type=int, default=3)
    args = ap.parse_args()

    pipe = Pipeline(tta="none")
    pred = pipe.five.model._ensure_loaded()
    gaps, unsettled = [], []
    files = images(args.faces, args.antispoof_step)
    for path in files:
        img = load_image(path).pixels
        main = pipe.detector.detect(img, pick="main")
        for face in pipe.detector.detect(img):
            start = pipe.five._start(face, img)
            shape = pred.predict(img, [start])[0]
            _, gap = pred._refined(pred._image(img), shape, start, REFINE_PASSES)
            gaps.append(gap)
            if gap > UNSETTLED:
                unsettled.append((path, face.box, gap, bool(main) and iou(main[0].box, face.box) > 0.5))
    g = np.asarray(gaps)
    print(f"{len(files)} images, {len(g)} MTCNN faces; refinement gap (fraction of the box side) "
          f"median {np.median(g):.4f}, p99 {np.percentile(g, 99):.4f}; above UNSETTLED={UNSETTLED}: {len(unsettled)}")  # fmt: skip
    mmod = Pipeline(detector="dlib_mmod", tta="none")
    print(f"\n{'face':58s} {'gap':>6s} main  L2 to dlib_mmod's:  check off   on")
    closer = compared = 0
    for path, box, gap, is_main in unsettled:
        ref = embedding_at(mmod, path, box)
        alignment.UNSETTLED = float("inf")
        off = embedding_at(Pipeline(tta="none"), path, box)
        alignment.UNSETTLED = UNSETTLED
        on = embedding_at(Pipeline(tta="none"), path, box)
        name = str(path.relative_to(args.faces))
        flag = "yes" if is_main else ""
        if ref is None or off is None or on is None:
            print(f"{name:58s} {gap:6.3f} {flag:4s}  (dlib_mmod finds no face here)")
            continue
        d_off, d_on = float(np.linalg.norm(off - ref)), float(np.linalg.norm(on - ref))
        compared += 1
        closer += d_on < d_off
        print(f"{name:58s} {gap:6.3f} {flag:4s}  {d_off:20.3f} {d_on:5.3f}")
    print(
        f"\n{compared} of the {len(unsettled)} are faces dlib_mmod also finds; the check brings {closer} nearer its chip"
    )


if __name__ == "__main__":
    main()
