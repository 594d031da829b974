"""Dev accuracy benchmark: alignment and test-time-augmentation variants side by side, one run.

Usage: python benchmarks/accuracy.py [--faces ../shared/faces] [--only orl,identities] [--no-agreement]

Sets: ORL all pairs (400 images, 79,800 pairs, 1,800 genuine) and identities/ all pairs (64
photos, 2,016 pairs). Each image is detected once per detector (largest face) and embedded once
per variant; a variant's distances are scored by EER, TAR at FAR 1e-3, 10-fold accuracy (pairs
in 10 seeded random folds, threshold fit on the other nine) and accuracy at the built-in
threshold (dlib's 0.6; 0.588 for flip rows, the same false-accept rate). An image
without a face makes all its pairs wrong. ``face_recognition`` (if installed) runs its own
pipeline on the same images as the reference row.

Cross-detector agreement: every face of identities/, group/ and ORL that the offline detectors
(``--agree-detectors``, default mtcnn and opencv_haar; dlib_mmod takes ~1 s an image) find where dlib_hog also finds one (IoU >= 0.3) is embedded
with each box; the L2 between the two embeddings, per detector and alignment.

Nothing here is a test; figures are printed (docs/accuracy.md quotes them).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np

from faceprint.alignment import (
    align_face,
    canonical_box,
    shape_predictor,
)
from faceprint.augment import embed_augmented
from faceprint.config import DEFAULT_FACES
from faceprint.detection import create_detector
from faceprint.evaluation.metrics import accuracy, eer, kfold_accuracy, tar_at_far
from faceprint.image import load_image
from faceprint.models import weights
from faceprint.models.landmarkers import DLIB_SHAPE_5
from faceprint.models.registry import get
from faceprint.models.specs import Alignment
from faceprint.models.templates import dlib_chip_points as _dlib_chip_points
from faceprint.recognition import create_recognizer
from faceprint.types import Face
from faceprint.verification import threshold_for

ChipFn = Callable[[np.ndarray, Face], np.ndarray]
PIPELINES_ONLY = False


def read_set(root: Path, name: str) -> tuple[list[Path], list[str]]:
    with open(root / name / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    key = "subject" if name == "orl" else "identity"
    return [root / name / r["file"] for r in rows], [r[key] for r in rows]


def all_pairs(labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.array(list(combinations(range(len(labels)), 2)))
    lab = np.asarray(labels)
    same = lab[idx[:, 0]] == lab[idx[:, 1]]
    folds = np.random.default_rng(0).integers(0, 10, len(idx))
    return idx, same, folds


def scores(
    vecs: list[np.ndarray | None], idx: np.ndarray, same: np.ndarray, folds: np.ndarray, tta: str = "none"
) -> dict[str, float]:
    ok = np.array([v is not None for v in vecs])
    dim = next(v for v in vecs if v is not None).shape[0]
    m = np.stack([v if v is not None else np.zeros(dim, np.float32) for v in vecs])
    d = np.linalg.norm(m[idx[:, 0]] - m[idx[:, 1]], axis=1)
    failed = ~(ok[idx[:, 0]] & ok[idx[:, 1]])
    d[failed & same] = 1e9  # a pair with a missing face is wrong either way
    d[failed & ~same] = -1e9
    e, _ = eer(d, same)
    tar, _ = tar_at_far(d, same, 1e-3)
    k, ks, _ = kfold_accuracy(d, same, folds)
    thr = threshold_for(get("dlib", "recognizer"), "euclidean", tta)
    return {"eer": e, "tar": tar, "kfold": k, "kfold_sd": ks, "acc06": accuracy(d, same, thr), "missing": int((~ok).sum())}


class Chips:
    """The alignment variants: each turns (image, detected face) into a 150x150 BGR chip."""

    def __init__(self) -> None:
        self.pred = shape_predictor(str(weights.resolve(DLIB_SHAPE_5)))
        self.template = Alignment((150, 150), "dlib5", _dlib_chip_points())
        from faceprint.alignment import _FIVE_IN_DLIB_UNIT

        pts = [((0.25 + x) / 1.5 * 150, (0.25 + y) / 1.5 * 150) for x, y in _FIVE_IN_DLIB_UNIT]
        self.five = Alignment((150, 150), "five", tuple(pts))

    def shape(self, bgr: np.ndarray, box: tuple) -> np.ndarray:
        return self.pred.predict(bgr, [box])[0]

    def template_on_box(self, bgr: np.ndarray, face: Face, padding: float = 0.25) -> np.ndarray:
        t = self.template if padding == 0.25 else Alignment((150, 150), "dlib5", _dlib_chip_points(150, padding))
        return align_face(bgr, self.shape(bgr, face.box), t)

    def canonical(self, bgr: np.ndarray, face: Face, passes: int = 1) -> np.ndarray:
        s = self.shape(bgr, face.box)
        for _ in range(passes):
            s = self.shape(bgr, canonical_box(s))
        return align_face(bgr, s, self.template)

    def dlib_chip(self, bgr: np.ndarray, face: Face) -> np.ndarray:
        import dlib

        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        x1, y1, x2, y2 = face.box
        rect = dlib.rectangle(round(x1), round(y1), round(x2) - 1, round(y2) - 1)
        chip = dlib.get_face_chip(rgb, self.pred._predictor(rgb, rect), 150, 0.25)
        return np.ascontiguousarray(chip[:, :, ::-1])

    def detector_five(self, bgr: np.ndarray, face: Face) -> np.ndarray:
        return align_face(bgr, face.landmarks, self.five)


def detect_largest(det_name: str, images: list[np.ndarray]) -> list[Face | None]:
    det = create_detector(det_name)
    out = []
    for im in images:
        faces = det.detect(im)
        out.append(max(faces, key=lambda f: f.area) if faces else None)
    return out


#: End-to-end rows: the public Pipeline on the image files (its default face policy), as a user runs it.
PIPELINES: dict[str, dict] = {
    "Pipeline(): the default": {},
    "Pipeline(), faces='largest'": {"faces": "largest"},
    "Pipeline(tta='none')": {"tta": "none"},
    "Pipeline(refine_shape=False)": {"refine_shape": False},
    "Pipeline(): MTCNN max_side 1024, full decode": {"detector_options": {"max_side": 1024}, "reduced_decode": False},
    "as before this branch (1024, full, no tta)": {
        "detector_options": {"max_side": 1024}, "reduced_decode": False, "tta": "none", "refine_shape": False},
}


def pipeline_vecs(paths: list[Path], kwargs: dict) -> list[np.ndarray | None]:
    from faceprint.errors import NoFaceError
    from faceprint.pipeline import Pipeline

    options = dict(kwargs)
    faces = options.pop("faces", DEFAULT_FACES)
    pipe = Pipeline(**options)
    out: list[np.ndarray | None] = []
    for p in paths:
        try:
            out.append(pipe.represent(p, faces=faces)[0].embedding)
        except NoFaceError:
            out.append(None)
    return out


def face_recognition_vecs(paths: list[Path]) -> list[np.ndarray | None] | None:
    try:
        import face_recognition
    except ImportError:
        return None
    out = []
    for p in paths:
        img = face_recognition.load_image_file(str(p))
        locs = face_recognition.face_locations(img)
        if not locs:
            out.append(None)
            continue
        big = max(locs, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
        out.append(np.asarray(face_recognition.face_encodings(img, [big])[0], np.float32))
    return out


def run_set(name: str, root: Path, rec, chips: Chips, detectors: list[str]) -> None:
    paths, labels = read_set(root, name)
    idx, same, folds = all_pairs(labels)
    images = [load_image(p).pixels for p in paths]
    print(f"\n== {name}: {len(paths)} images, {len(idx):,} pairs ({int(same.sum()):,} genuine) ==")
    print(f"{'variant':<44}{'EER':>8}{'TAR@1e-3':>10}{'10-fold':>9}{'±':>7}{'acc@thr':>9}{'no face':>8}{'s':>7}")
    variants: list[tuple[str, str, ChipFn, str, int]] = []
    for det in detectors if not PIPELINES_ONLY else []:
        variants += [
            (f"{det}: predictor on box → template (today)", det, chips.template_on_box, "none", 0),
            (f"{det}: predictor on box → dlib get_face_chip", det, chips.dlib_chip, "none", 0),
            (f"{det}: canonical box (2-pass predictor)", det, chips.canonical, "none", 0),
            (f"{det}: + flip", det, chips.canonical, "flip", 0),
            (f"{det}: today's chip + flip", det, chips.template_on_box, "flip", 0),
        ]
        if det == "mtcnn":
            variants += [
                (f"{det}: detector landmarks → 5-pt template", det, chips.detector_five, "none", 0),
                (f"{det}: canonical, 3-pass predictor", det, lambda b, f: chips.canonical(b, f, 2), "none", 0),
                (f"{det}: today's chip, padding 0.20", det, lambda b, f: chips.template_on_box(b, f, 0.2), "none", 0),
                (f"{det}: today's chip, padding 0.30", det, lambda b, f: chips.template_on_box(b, f, 0.3), "none", 0),
                (f"{det}: canonical + jitter 10", det, chips.canonical, "none", 10),
                (f"{det}: canonical + flip + jitter 10", det, chips.canonical, "flip", 10),
            ]
    found: dict[str, list[Face | None]] = {}
    for label, det, fn, tta, jit in variants:
        if det not in found:
            t = time.perf_counter()
            found[det] = detect_largest(det, images)
            print(f"  ({det}: detected in {time.perf_counter() - t:.1f} s)")
        t = time.perf_counter()
        vecs: list[np.ndarray | None] = []
        for im, f in zip(images, found[det]):
            if f is None:
                vecs.append(None)
                continue
            vecs.append(embed_augmented(rec.embed, [fn(im, f)], tta, jit)[0])
        row(label, scores(vecs, idx, same, folds, tta), time.perf_counter() - t)
    for label, kwargs in PIPELINES.items():
        t = time.perf_counter()
        row(label, scores(pipeline_vecs(paths, kwargs), idx, same, folds, kwargs.get("tta", "flip")), time.perf_counter() - t)
    t = time.perf_counter()
    fr = face_recognition_vecs(paths)
    if fr is None:
        print("face_recognition not installed (pip install --no-deps face_recognition): reference row skipped")
    else:
        row("face_recognition 1.3 (HOG, dlib chip)", scores(fr, idx, same, folds), time.perf_counter() - t)


def row(label: str, s: dict[str, float], secs: float) -> None:
    print(
        f"{label:<44}{s['eer']:8.4f}{s['tar']:10.4f}{s['kfold']:9.4f}{s['kfold_sd']:7.4f}{s['acc06']:9.4f}"
        f"{s['missing']:8d}{secs:7.1f}"
    )


def _iou(a: tuple, b: tuple) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def agreement(root: Path, rec, chips: Chips, others: list[str]) -> None:
    paths: list[Path] = []
    for n in ("identities", "group", "orl"):
        with open(root / n / "labels.csv", newline="") as f:
            paths += [root / n / r["file"] for r in csv.DictReader(f)]
    images = [load_image(p).pixels for p in paths]
    dets = {n: create_detector(n) for n in ["dlib_hog", *others]}
    found = {n: [d.detect(im) for im in images] for n, d in dets.items()}
    from faceprint.image import LoadedImage
    from faceprint.pipeline import Pipeline

    pipes = {n: Pipeline(n) for n in dets}  # the default pipeline but for the detector

    def pipeline_chip(im: np.ndarray, f: Face) -> np.ndarray:
        """The chip the default pipeline with this face's detector makes of it (its landmark stage, first
        box, refinements and warp)."""
        pipe = pipes[f.detector]
        faces = pipe.five.fill(im, [f]) if f.landmarks is None else [f]
        return pipe.align_faces(LoadedImage(im, ""), faces)[1][0]

    aligns: dict[str, ChipFn] = {
        "predictor on box": chips.template_on_box,
        "canonical box, 1 refinement": chips.canonical,
        "Pipeline(detector)": pipeline_chip,
    }
    print(f"\n== cross-detector agreement: {len(paths)} images of identities/, group/, orl/; "
          "L2 of each face's embedding to the dlib_hog face's (IoU >= 0.3) ==")  # fmt: skip
    print(f"{'detector':<14}{'alignment':<28}{'faces':>6}{'median':>9}{'p90':>9}{'max':>9}   median per set")
    for other in others:
        pairs, set_of = [], []
        for im, p, hog, oth in zip(images, paths, found["dlib_hog"], found[other]):
            for f in oth:
                best = max(hog, key=lambda h: _iou(h.box, f.box), default=None)
                if best is not None and _iou(best.box, f.box) >= 0.3:
                    pairs.append((im, best, f))
                    set_of.append(p.relative_to(root).parts[0])
        sets = np.asarray(set_of)
        for aname, fn in aligns.items():
            a = rec.embed([fn(im, h) for im, h, _ in pairs])
            b = rec.embed([fn(im, f) for im, _, f in pairs])
            d = np.linalg.norm(a - b, axis=1)
            per = "  ".join(f"{k} {np.median(d[sets == k]):.4f} ({int((sets == k).sum())})" for k in np.unique(sets))
            print(f"{other:<14}{aname:<28}{len(d):6d}{np.median(d):9.4f}{np.percentile(d, 90):9.4f}{d.max():9.4f}   {per}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "faces"))
    ap.add_argument("--only", default="orl,identities")
    ap.add_argument("--detectors", default="mtcnn,dlib_hog")
    ap.add_argument("--no-agreement", action="store_true")
    ap.add_argument("--agree-detectors", default="mtcnn,opencv_haar", help="compared with dlib_hog (dlib_mmod: slow)")
    ap.add_argument("--pipelines-only", action="store_true", help="only the end-to-end Pipeline rows")
    args = ap.parse_args()
    global PIPELINES_ONLY
    PIPELINES_ONLY = args.pipelines_only
    root = Path(args.faces)
    rec = create_recognizer("dlib")
    chips = Chips()
    for name in filter(None, args.only.split(",")):
        run_set(name, root, rec, chips, args.detectors.split(","))
    if not args.no_agreement:
        agreement(root, rec, chips, args.agree_detectors.split(","))


if __name__ == "__main__":
    main()
