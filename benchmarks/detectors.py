"""Every detector side by side: speed at 640 px and at full size, faces found on the group photos,
false positives, peak memory, and end-to-end verification accuracy with the default recognizer.

Usage: python benchmarks/detectors.py [--faces ../shared/faces] [--detectors a,b,...] [--no-e2e]

Each detector runs in a fresh process, so its peak resident memory is its own. A detection on a
group photo counts as a true face when it overlaps (IoU >= 0.4) a box that at least a third of the
detectors found there; everything else counts as a false positive. The consensus set is printed
against the hand-counted ``labels.csv`` so you can see where that reference is itself short.
Run on demand; nothing here is a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

ALL = ("mtcnn", "mtcnn_torch", "dlib_hog", "dlib_mmod", "opencv_haar", "opencv_ssd", "yunet", "scrfd",
       "retinaface", "retinaface_torch", "yolo5face", "mediapipe", "mediapipe_full")  # fmt: skip
MULTI_FACE = {"couple.jpg", "selfie-many-people.jpg"}


def _rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _resize_long(img: np.ndarray, side: int) -> np.ndarray:
    s = side / max(img.shape[:2])
    return cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)


def _timed(det, images: list[np.ndarray]) -> float:
    t = time.perf_counter()
    for img in images:
        det.detect(img)
    return (time.perf_counter() - t) / len(images) * 1000


def run_one(name: str, faces_root: str) -> dict:
    """In a child process: load, time and count one detector."""
    from faceprint.detection import create_detector
    from faceprint.image import load_image

    root = Path(faces_root)
    singles = [load_image(root / "identities" / r["file"]).pixels for r in _rows(root / "identities") if r["file"] not in MULTI_FACE]
    groups = [(r["file"], int(r["face_count"]), load_image(root / "group" / r["file"]).pixels) for r in _rows(root / "group")]
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    det = create_detector(name)
    t = time.perf_counter()
    det.detect(singles[0])
    load_ms = (time.perf_counter() - t) * 1000
    small = [_resize_long(img, 640) for img in singles]
    out = {
        "name": name,
        "load_ms": load_ms,
        "ms_640": _timed(det, small),
        "ms_full": _timed(det, singles),
        "found_single": sum(bool(det.detect(img)) for img in singles),
        "n_single": len(singles),
        "groups": {f: [list(face.box) for face in det.detect(img)] for f, _, img in groups},
    }
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_delta_mb"] = out["rss_mb"] - base_rss / 1024
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def consensus(boxes_by_det: list[list[list[float]]], quorum: int) -> list[np.ndarray]:
    """Boxes that at least ``quorum`` detectors agree on (greedy clustering at IoU >= 0.4)."""
    clusters: list[tuple[np.ndarray, set[int]]] = []
    for d, boxes in enumerate(boxes_by_det):
        for b in map(np.asarray, boxes):
            for c in clusters:
                if _iou(c[0], b) >= 0.4:
                    c[1].add(d)
                    break
            else:
                clusters.append((b, {d}))
    return [c[0] for c in clusters if len(c[1]) >= quorum]


def e2e(detectors: list[str], identities: Path) -> dict[str, tuple[float, int]]:
    """Accuracy at the built-in threshold on master.csv, each detector feeding the default recognizer."""
    from faceprint.evaluation.pairs import read_pairs
    from faceprint.evaluation.runner import System, evaluate

    pairs = read_pairs(identities / "master.csv", identities)
    with tempfile.TemporaryDirectory() as cache:
        reports = evaluate(pairs, [System(detector=d) for d in detectors], cache_dir=Path(cache), ensemble=None)
    return {d: (r.accuracy, r.n_failed) for d, r in zip(detectors, reports)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", default=os.environ.get("FACEPRINT_SHARED", "../shared") + "/faces")
    ap.add_argument("--detectors", default=",".join(ALL))
    ap.add_argument("--no-e2e", action="store_true", help="skip the verification-accuracy column")
    args = ap.parse_args()
    names = args.detectors.split(",")
    root = Path(args.faces).resolve()
    results = []
    for name in names:  # one fresh process per detector: its peak memory is its own
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            results.append(pool.submit(run_one, name, str(root)).result())
        print(f"  measured {name}", flush=True)
    labels = {r["file"]: int(r["face_count"]) for r in _rows(root / "group")}
    quorum = max(2, len(results) // 3)
    refs = {f: consensus([r["groups"][f] for r in results], quorum) for f in labels}
    acc = {} if args.no_e2e else e2e(names, root / "identities")

    print(f"\n{results[0]['n_single']} single-face photos (identities/), 6 group photos ({sum(labels.values())} faces "
          f"hand-counted; {sum(map(len, refs.values()))} agreed by >= {quorum} of {len(results)} detectors); CPU, 2 cores\n")  # fmt: skip
    head = f"{'detector':<18}{'load ms':>8}{'ms@640':>8}{'ms@full':>8}{'single':>8}{'group found':>12}{'FP':>4}{'peak MB':>8}{'+MB':>6}{'verify acc':>11}"
    print(head)
    print("-" * len(head))
    for r in results:
        tp = fp = 0
        for f, boxes in r["groups"].items():
            for b in map(np.asarray, boxes):
                if any(_iou(ref, b) >= 0.4 for ref in refs[f]):
                    tp += 1
                else:
                    fp += 1
        a = acc.get(r["name"])
        acc_s = f"{a[0]:.4f}" + (f" ({a[1]} failed)" if a and a[1] else "") if a else "-"
        print(f"{r['name']:<18}{r['load_ms']:>8.0f}{r['ms_640']:>8.1f}{r['ms_full']:>8.1f}"
              f"{r['found_single']:>4}/{r['n_single']:<3}{tp:>7}/{sum(labels.values()):<4}{fp:>4}"
              f"{r['rss_mb']:>8.0f}{r['rss_delta_mb']:>6.0f}  {acc_s}")  # fmt: skip


if __name__ == "__main__":
    main()
