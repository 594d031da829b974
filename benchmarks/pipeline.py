"""End-to-end images/s of faceprint pipelines beside face_recognition, same images, same run.

Usage: python benchmarks/pipeline.py [FOLDER] [--limit N] [--rounds R] [--configs default,hog,...]
       [--stages]

Two image sets from FOLDER (default ../shared/faces/identities): the photos as they are (JPEG
files), and 250x250 crops made from them like LFW's (a square of 2.2x the face box around its
centre, JPEG-encoded in memory). Every system goes from the encoded image to the embedding of
one face (faceprint: its default policy, the main face; face_recognition: the largest), one image at a time; ``represent_stream`` rows add the 2-thread pipeline.
Configurations run interleaved, ``--rounds`` times, the best round kept; besides wall time the
process CPU time is printed, which a shared machine disturbs less. ``face_recognition``
(``pip install --no-deps face_recognition``) is the reference; without it its row is skipped.
``--stages`` prints per-stage ms of the default pipeline. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.config import DEFAULT_FACES
from faceprint.image import load_image
from faceprint.pipeline import Pipeline

EXTS = {".jpg", ".jpeg"}

#: name → Pipeline options
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "default tta=none": {"tta": "none"},
    "default full decode": {"reduced_decode": False},
    "before: mtcnn 1024/2 threads/full decode/no tta": {
        "detector_options": {"max_side": 1024, "threads": None}, "reduced_decode": False, "tta": "none",
        "refine_shape": False},
    "dlib_hog": {"detector": "dlib_hog"},
    "opencv_haar": {"detector": "opencv_haar"},
}  # fmt: skip


def make_crops(paths: list[Path]) -> list[bytes]:
    """LFW-like 250x250 JPEG crops around the largest face of each photo (found by dlib_hog)."""
    import cv2

    from faceprint.detection import create_detector

    det = create_detector("dlib_hog")
    out = []
    for p in paths:
        img = load_image(p).pixels
        faces = det.detect(img)
        if not faces:
            continue
        x1, y1, x2, y2 = max(faces, key=lambda f: f.area).box
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, 1.1 * max(x2 - x1, y2 - y1)
        m = np.array([[125 / half, 0, 125 - cx * 125 / half], [0, 125 / half, 125 - cy * 125 / half]])
        crop = cv2.warpAffine(img, m, (250, 250), flags=cv2.INTER_AREA)
        out.append(cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    return out


def faceprint_runner(options: dict[str, Any]) -> Callable[[Any], int]:
    pipe = Pipeline(**options)

    def run(item: Any) -> int:
        try:
            return len(pipe.represent(item))
        except Exception:  # a missed face counts as 0
            return 0

    return run


def face_recognition_runner() -> Callable[[Any], int] | None:
    try:
        import face_recognition
    except ImportError:
        return None

    def run(item: Any) -> int:
        img = face_recognition.load_image_file(io.BytesIO(item) if isinstance(item, bytes) else str(item))
        locs = face_recognition.face_locations(img)
        if not locs:
            return 0
        big = max(locs, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
        return len(face_recognition.face_encodings(img, [big]))

    return run


def stream_runner(options: dict[str, Any]) -> Callable[[list[Any]], int]:
    pipe = Pipeline(**options)
    return lambda items: sum(len(r.representations) for r in pipe.represent_stream(items, errors="skip"))


def timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    t, c = time.perf_counter(), time.process_time()
    n = fn()
    return time.perf_counter() - t, time.process_time() - c, n


def bench(items: list[Any], configs: list[str], rounds: int) -> dict[str, tuple[float, float, int]]:
    runners: dict[str, Callable[[], int]] = {}
    for name in configs:
        one = faceprint_runner(CONFIGS[name])
        one(items[0])  # load the models
        runners[name] = lambda one=one: sum(one(x) for x in items)
    stream = stream_runner({})
    stream(items[:1])
    runners["default, represent_stream (2 threads)"] = lambda: stream(items)
    fr = face_recognition_runner()
    if fr is not None:
        fr(items[0])
        runners["face_recognition 1.3"] = lambda: sum(fr(x) for x in items)
    best: dict[str, tuple[float, float, int]] = {}
    for _ in range(rounds):
        for name, run in runners.items():
            wall, cpu, n = timed(run)
            if name not in best or wall < best[name][0]:
                best[name] = (wall / len(items), cpu / len(items), n)
    return best


def report(title: str, best: dict[str, tuple[float, float, int]], count: int) -> None:
    print(f"\n{title}")
    print(f"{'system':<46}{'images/s':>9}{'ms/image':>10}{'CPU ms':>8}{'faces':>7}{'vs fr (wall)':>13}{'(CPU)':>7}")
    ref = best.get("face_recognition 1.3")
    for name, (wall, cpu, n) in best.items():
        ratio = f"{ref[0] / wall:12.2f}x{ref[1] / cpu:6.2f}x" if ref else ""
        print(f"{name:<46}{1 / wall:9.2f}{wall * 1000:10.1f}{cpu * 1000:8.1f}{n:>4}/{count:<3}{ratio}")
    if ref is None:
        print("face_recognition not installed (pip install --no-deps face_recognition): no reference row")


def stages(paths: list[Path]) -> None:
    pipe = Pipeline()
    pipe.represent(paths[0])
    times: dict[str, float] = {}
    for p in paths:
        img, found, _, _ = pipe._decode_detect(p, False, DEFAULT_FACES, False, times)
        t = time.perf_counter()
        _, crops = pipe.align_faces(img, found)
        times["align"] = times.get("align", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        pipe.embed(crops)
        times["embed"] = times.get("embed", 0.0) + time.perf_counter() - t
    print("default pipeline, ms per image: " + ", ".join(f"{k} {v / len(paths) * 1000:.1f}" for k, v in times.items()))
    images = [pipe._decode_detect(p, False, DEFAULT_FACES, False)[0] for p in paths]
    cost = {}
    for pick in (None, DEFAULT_FACES, None, DEFAULT_FACES):  # interleaved, the best of two
        t, c = time.perf_counter(), time.process_time()
        for img in images:
            pipe.detector.detect(img, pick=pick)
        wall, cpu = (time.perf_counter() - t) / len(images), (time.process_time() - c) / len(images)
        cost[pick] = min(cost.get(pick, (9e9, 9e9)), (wall * 1000, cpu * 1000))
    print("detector on the decoded copies, ms per image (wall/CPU): all faces {:.1f}/{:.1f}, {} face "
          "(the pipeline's policy) {:.1f}/{:.1f}".format(*cost[None], DEFAULT_FACES, *cost[DEFAULT_FACES]))


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=str(here.parent / "shared" / "faces" / "identities"))
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--stages", action="store_true")
    args = ap.parse_args()
    paths = sorted(p for p in Path(args.folder).rglob("*") if p.suffix.lower() in EXTS)[: args.limit]
    px = np.median([load_image(p).width * load_image(p).height for p in paths]) / 1e6
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at start; best of {args.rounds} interleaved rounds")
    configs = [c for c in args.configs.split(",") if c]
    if args.stages:
        stages(paths)
    report(f"{len(paths)} photos from {args.folder} (median {px:.2f} Mpx), one face each",
           bench(paths, configs, args.rounds), len(paths))  # fmt: skip
    crops = make_crops(paths)
    report(f"{len(crops)} LFW-like 250x250 JPEG crops of the same photos", bench(crops, configs, args.rounds), len(crops))
    if hasattr(os, "getloadavg"):
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
