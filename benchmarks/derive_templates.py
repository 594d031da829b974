"""Derive the 5 standard landmarks' mean position in dlib's unit face frame.

Usage: python benchmarks/derive_templates.py DIR_OF_FACE_PHOTOS
       python benchmarks/derive_templates.py --box FACES_ROOT   (e.g. ../shared/faces)
       python benchmarks/derive_templates.py --map DETECTOR FACES_ROOT
Prints the (5, 2) array used as ``alignment._FIVE_IN_DLIB_UNIT``: MTCNN's landmarks of every
detected face, mapped into dlib's unit frame by the similarity that takes the face's dlib
5-point shape onto dlib's template, averaged. ``--box``: where dlib_hog's box sits in that frame
(centre x, centre y, side), per set and the median over identities/, orl/ and group/ — the
``alignment._HOG_BOX_IN_DLIB_UNIT`` that :func:`faceprint.alignment.canonical_box` uses.
``--map``: where dlib_hog's box sits relative to DETECTOR's box around the same face (IoU >= 0.3):
centre offsets and side in units of DETECTOR's box's longer side (boxes at the image's edge left
out, as the pipeline never maps them), per set, and the median of the sets' medians — the registry's ``hog_box`` for that detector (the 5-point predictor's first box).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceprint.alignment import similarity_transform
from faceprint.models.templates import DLIB5_UNIT
from faceprint.pipeline import Pipeline


def main(folder: str) -> None:
    pipe = Pipeline("mtcnn")
    pts = []
    for path in sorted(Path(folder).glob("*.jpg")):
        faces = pipe.detect(path)
        if not faces:
            continue
        from faceprint.image import load_image

        img = load_image(path)
        shapes = pipe._predictor().predict(img.pixels, [f.box for f in faces])
        for f, s in zip(faces, shapes):
            m = similarity_transform(s, np.asarray(DLIB5_UNIT))
            pts.append(np.hstack([f.landmarks, np.ones((5, 1))]) @ m.T)
    arr = np.array(pts)
    print(f"{len(arr)} faces")
    print("mean:\n", np.round(arr.mean(0), 4))
    print("median:\n", np.round(np.median(arr, 0), 4))
    print("std:\n", np.round(arr.std(0), 4))


def _set_images(root: str) -> Iterator[tuple[str, np.ndarray]]:
    """(set name, BGR pixels) of every image of identities/, orl/ and group/ under ``root``."""
    from faceprint.image import load_image

    for sub in ("identities", "orl", "group"):
        for p in sorted((Path(root) / sub).rglob("*")):
            if p.suffix.lower() in (".jpg", ".png"):
                yield sub, load_image(p).pixels


def _print_sets(rows: dict[str, list[tuple[float, float, float]]]) -> np.ndarray:
    """Each set's count and median; all rows as one array."""
    for sub, r in rows.items():
        print(sub, len(r), np.round(np.median(np.array(r), 0), 4))
    return np.array([x for r in rows.values() for x in r])


def hog_box(root: str) -> None:
    from faceprint.alignment import shape_predictor
    from faceprint.detection import create_detector
    from faceprint.models import weights
    from faceprint.models.landmarkers import DLIB_SHAPE_5

    det = create_detector("dlib_hog")
    pred = shape_predictor(str(weights.resolve(DLIB_SHAPE_5)))
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for sub, img in _set_images(root):
        for f in det.detect(img):
            m = similarity_transform(pred.predict(img, [f.box])[0], np.asarray(DLIB5_UNIT))
            scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
            x1, y1, x2, y2 = f.box
            c = m @ np.array([(x1 + x2) / 2, (y1 + y2) / 2, 1.0])
            rows.setdefault(sub, []).append((c[0], c[1], (x2 - x1 + y2 - y1) / 2 * scale))
    every = _print_sets(rows)
    print(f"all {len(every)} faces, median (cx, cy, side):", np.round(np.median(every, 0), 4))


def detector_map(name: str, root: str) -> None:
    from accuracy import _iou  # benchmarks/accuracy.py

    from faceprint.detection import create_detector
    from faceprint.detection.base import EDGE_MARGIN

    hog, det = create_detector("dlib_hog"), create_detector(name)
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for sub, img in _set_images(root):
        boxes = [f.box for f in hog.detect(img)]
        for f in det.detect(img):
            best = max(boxes, key=lambda b: _iou(b, f.box), default=None)
            if best is None or _iou(best, f.box) < 0.3:
                continue
            x1, y1, x2, y2 = f.box
            long = max(x2 - x1, y2 - y1)
            margin = EDGE_MARGIN * long  # boxes at the edge are never mapped (Detector.predictor_box)
            if min(x1, y1) <= margin or x2 >= img.shape[1] - margin or y2 >= img.shape[0] - margin:
                continue
            hx1, hy1, hx2, hy2 = best
            rows.setdefault(sub, []).append((
                ((hx1 + hx2) - (x1 + x2)) / 2 / long, ((hy1 + hy2) - (y1 + y2)) / 2 / long,
                (hx2 - hx1 + hy2 - hy1) / 2 / long,
            ))  # fmt: skip
    every = _print_sets(rows)
    print(f"all {len(every)} faces, median:", tuple(np.round(np.median(every, 0), 4).tolist()))
    # ORL's 400 lab photos would outweigh the others: the registry takes the median of the sets' medians
    per_set = np.median([np.median(np.array(r), 0) for r in rows.values()], 0)
    print(f"{name}: hog_box (dx, dy, side), median of the {len(rows)} sets' medians:", tuple(np.round(per_set, 4).tolist()))


if __name__ == "__main__":
    if sys.argv[1] == "--box":
        hog_box(sys.argv[2])
    elif sys.argv[1] == "--map":
        detector_map(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1])
