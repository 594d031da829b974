"""Embedding parity between two versions of faceprint: dump, then compare.

    python benchmarks/parity.py dump /tmp/before.npz      # run with PYTHONPATH at the old checkout
    python benchmarks/parity.py dump /tmp/after.npz       # ... and at the new one
    python benchmarks/parity.py compare /tmp/before.npz /tmp/after.npz

``dump`` runs only the public API (``Pipeline``), so any version can produce a dump: every offline
detector's ``detect()`` boxes, scores and landmarks (and the landmark source), and the embeddings of
every recognizer whose weights are found offline (``FACEPRINT_WEIGHTS_PATH`` as tests/conftest.py
sets it), on the fixture faces (``../shared/faces/identities``, a few ``group/`` photos), for each
align mode and for every detector with the default recognizer. ``compare`` prints the largest
absolute difference per key and exits 1 when one is above ``--tol`` (1e-6) or a key is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEPRINT_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("FACEPRINT_OFFLINE", "1")
if (SHARED / "weights").is_dir():
    os.environ.setdefault("FACEPRINT_WEIGHTS_PATH", str(SHARED / "weights"))

DETECTORS = ("mtcnn", "mtcnn_torch", "dlib_hog", "dlib_mmod", "opencv_haar", "yunet", "scrfd", "retinaface",
             "retinaface_torch", "yolo5face", "opencv_ssd", "mediapipe", "mediapipe_full")  # fmt: skip
#: recognizer checks: (detector, recognizer, align)
RECOGNIZERS = ("dlib", "dlib_torch", "dlib_bin", "sface", "arcface_r50", "arcface_mbf", "sphereface", "openface",
               "facenet", "facenet512", "vgg_face", "arcface", "deepid", "fb_deepface", "ghostfacenet")  # fmt: skip


def images(limit: int | None) -> list[Path]:
    ids = sorted((SHARED / "faces" / "identities").glob("*.jpg"))
    group = sorted((SHARED / "faces" / "group").glob("*.jpg"))[:3]
    return (ids[:limit] if limit else ids) + group


def _available(kind: str, name: str) -> bool:
    from faceprint.errors import FaceprintError

    try:
        if kind == "detector":
            from faceprint.detection import create_detector

            create_detector(name).detect(np.zeros((64, 64, 3), np.uint8))
        else:
            from faceprint.recognition import create_recognizer

            rec = create_recognizer(name)
            w, h = rec.alignment.size
            rec.embed([np.zeros((h, w, 3), np.uint8)])
        return True
    except (FaceprintError, ImportError, OSError) as exc:
        print(f"  skip {kind} {name}: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return False


def dump(out: Path, limit: int | None) -> None:
    from faceprint import Pipeline
    from faceprint.errors import NoFaceError

    imgs = images(limit)
    data: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    dets = [d for d in DETECTORS if _available("detector", d)]
    recs = [r for r in RECOGNIZERS if _available("recognizer", r)]
    print(f"{len(imgs)} images; detectors: {', '.join(dets)}; recognizers: {', '.join(recs)}", file=sys.stderr)

    def faces_of(pipe: Pipeline, key: str) -> None:
        for p in imgs:
            faces = pipe.detect(p)
            data[f"detect/{key}/{p.name}/boxes"] = np.array([f.box for f in faces], np.float64).reshape(-1, 4)
            data[f"detect/{key}/{p.name}/scores"] = np.array([f.score for f in faces], np.float64)
            lms = [f.landmarks if f.landmarks is not None else np.full((5, 2), np.nan) for f in faces]
            data[f"detect/{key}/{p.name}/landmarks"] = np.array(lms, np.float64).reshape(-1, 5, 2)
            data[f"detect/{key}/{p.name}/source"] = np.array([f.landmarks_source or "" for f in faces], dtype=str)

    def embed_all(pipe: Pipeline, key: str) -> None:
        for p in imgs:
            try:
                reps = pipe.represent(p, faces="all")
            except NoFaceError:
                data[f"embed/{key}/{p.name}"] = np.zeros((0,), np.float32)
                continue
            data[f"embed/{key}/{p.name}"] = np.array([r.embedding for r in reps], np.float64)
            data[f"embed/{key}/{p.name}/landmarks"] = np.array(
                [r.face.landmarks if r.face.landmarks is not None else np.full((5, 2), np.nan) for r in reps], np.float64
            ).reshape(-1, 5, 2)

    for d in dets:
        pipe = Pipeline(d, recs[0] if recs else "dlib")
        faces_of(pipe, d)
        if recs:
            embed_all(pipe, f"{d}/{recs[0]}/template")
    for r in recs[1:]:
        embed_all(Pipeline("mtcnn", r), f"mtcnn/{r}/template")
    for det in ("mtcnn", "opencv_haar"):
        for align in ("eye_line", "none"):
            embed_all(Pipeline(det, recs[0], align=align), f"{det}/{recs[0]}/{align}")
        embed_all(Pipeline(det, recs[0], refine_shape=False), f"{det}/{recs[0]}/template-norefine")
        pipe = Pipeline(det, recs[0])
        for p in imgs[:8]:
            ex = pipe.extract_faces(p, enforce_detection=False)
            data[f"extract/{det}/{p.name}/crops"] = np.array([e.crop for e in ex], np.float64)
            data[f"extract/{det}/{p.name}/landmarks"] = np.array(
                [e.face.landmarks if e.face.landmarks is not None else np.full((5, 2), np.nan) for e in ex], np.float64
            ).reshape(-1, 5, 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **data)
    print(f"wrote {len(data)} arrays to {out} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def compare(a: Path, b: Path, tol: float) -> int:
    x, y = np.load(a), np.load(b)
    bad = 0
    worst: dict[str, float] = {}
    for key in sorted(set(x.files) | set(y.files)):
        if key not in x.files or key not in y.files:
            print(f"MISSING in {'first' if key not in x.files else 'second'}: {key}")
            bad += 1
            continue
        u, v = x[key], y[key]
        if u.shape != v.shape:
            print(f"SHAPE {key}: {u.shape} vs {v.shape}")
            bad += 1
            continue
        if u.dtype.kind in "US":
            if not np.array_equal(u, v):
                print(f"DIFF {key}: {u.tolist()} vs {v.tolist()}")
                bad += 1
            continue
        if u.size == 0:
            continue
        nan_u, nan_v = np.isnan(u), np.isnan(v)
        if not np.array_equal(nan_u, nan_v):
            print(f"NAN pattern differs {key}")
            bad += 1
            continue
        d = float(np.max(np.abs(np.where(nan_u, 0, u) - np.where(nan_v, 0, v))))
        group = "/".join(key.split("/")[:2])
        worst[group] = max(worst.get(group, 0.0), d)
        if d > tol:
            print(f"DIFF {key}: max abs {d:.3g}")
            bad += 1
    print(f"{'group':<36} max abs diff")
    for g, d in sorted(worst.items()):
        print(f"{g:<36} {d:.3g}")
    print(f"{len(set(x.files) | set(y.files))} arrays compared, {bad} over tolerance {tol:g} or missing")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--limit", type=int, default=None, help="identity photos to use (default: all)")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        dump(args.out, args.limit)
        return 0
    return compare(args.a, args.b, args.tol)


if __name__ == "__main__":
    sys.exit(main())
