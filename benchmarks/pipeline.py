"""Per-stage time of the default pipeline, per detector, on a folder of photos.

Usage: python benchmarks/pipeline.py FOLDER [--limit N] [--detectors mtcnn,dlib_hog,...]

Prints ms per image for decode, detect, align and embed, and, if ``face_recognition`` is
installed (``pip install --no-deps face_recognition``), its time on the same images with the
ratio. Run on demand; nothing here is a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from faceprint.image import load_image
from faceprint.pipeline import Pipeline

EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def _ms(t: float) -> str:
    return f"{t * 1000:8.1f}"


def bench_faceprint(paths: list[Path], detector: str) -> dict[str, float]:
    pipe = Pipeline(detector)
    pipe.represent(paths[0])  # warm-up: loads the models
    stages = {"decode": 0.0, "detect": 0.0, "align": 0.0, "embed": 0.0}
    faces = 0
    for p in paths:
        t = time.perf_counter()
        img = load_image(p)
        stages["decode"] += time.perf_counter() - t
        t = time.perf_counter()
        found = pipe.detect(img)
        stages["detect"] += time.perf_counter() - t
        if not found:
            continue
        found = [max(found, key=lambda f: f.area)]
        t = time.perf_counter()
        _, crops = pipe.align_faces(img, found)
        stages["align"] += time.perf_counter() - t
        t = time.perf_counter()
        pipe.recognizer.embed(crops)
        stages["embed"] += time.perf_counter() - t
        faces += 1
    n = len(paths)
    out = {k: v / n for k, v in stages.items()}
    out["total"] = sum(out.values())
    out["found"] = faces
    return out


def bench_face_recognition(paths: list[Path]) -> float | None:
    try:
        import face_recognition
    except ImportError:
        return None
    face_recognition.face_encodings(face_recognition.load_image_file(str(paths[0])))
    t = time.perf_counter()
    for p in paths:
        img = face_recognition.load_image_file(str(p))
        face_recognition.face_encodings(img, face_recognition.face_locations(img))
    return (time.perf_counter() - t) / len(paths)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--detectors", default="mtcnn,dlib_hog,opencv_haar,dlib_mmod")
    args = ap.parse_args()
    paths = sorted(p for p in Path(args.folder).rglob("*") if p.suffix.lower() in EXTS)[: args.limit]
    px = np.median([load_image(p).width * load_image(p).height for p in paths]) / 1e6
    print(f"{len(paths)} images from {args.folder}, median {px:.2f} Mpx; ms per image, one process, CPU\n")
    print(f"{'detector':<14}{'decode':>9}{'detect':>9}{'align':>9}{'embed':>9}{'total':>9}  faces")
    totals = {}
    for det in args.detectors.split(","):
        r = bench_faceprint(paths, det)
        totals[det] = r["total"]
        print(
            f"{det:<14}{_ms(r['decode'])} {_ms(r['detect'])} {_ms(r['align'])} {_ms(r['embed'])} {_ms(r['total'])}  {r['found']}/{len(paths)}"
        )
    fr = bench_face_recognition(paths)
    if fr is None:
        print("\nface_recognition not installed: pip install --no-deps face_recognition  (for the side-by-side ratio)")
        return
    print(f"\nface_recognition (HOG + dlib, same images): {fr * 1000:.1f} ms/image")
    for det, t in totals.items():
        print(f"  faceprint[{det}] is {fr / t:.2f}x face_recognition's speed")


if __name__ == "__main__":
    main()
