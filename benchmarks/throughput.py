"""Embedding throughput of dlib's face ResNet: dlib itself vs faceprint's ONNX Runtime and PyTorch conversions.

Usage: python benchmarks/throughput.py [FOLDER] [--faces N] [--batches 1,8,32] [--cuda-batches 1,2,...,256]
       [--e2e mtcnn,dlib_hog,opencv_haar,dlib_mmod] [--e2e-recognizers dlib_bin,dlib,dlib_torch]

Aligned 150x150 chips are made from the photos in FOLDER (default ../shared/faces/identities);
random chips stand in when the folder is missing. Prints ms/face and faces/s for each backend and
batch size, with the speed ratio against dlib at the same batch size. Run on demand; not a test.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pipeline import bench_face_recognition

from faceprint.recognition import Recognizer, create_recognizer

EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
DEFAULT_FOLDER = Path(__file__).resolve().parents[1].parent / "shared" / "faces" / "identities"


def make_chips(folder: Path, limit: int) -> tuple[np.ndarray, str]:
    """Aligned BGR chips from the photos in ``folder``, or random ones if there are none."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTS)[:limit] if folder.is_dir() else []
    if paths:
        from faceprint import Pipeline

        pipe = Pipeline("mtcnn", "dlib_bin")
        chips = [e.crop for p in paths for e in pipe.extract_faces(p, enforce_detection=False)]
        return np.stack(chips), f"{len(chips)} aligned faces from {len(paths)} photos in {folder}"
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (32, 150, 150, 3), dtype=np.uint8), f"32 random chips ({folder} not found)"


def time_per_face(
    embed: Callable[[np.ndarray], np.ndarray], chips: np.ndarray, batch: int, faces: int, rounds: int = 3
) -> float:
    """Seconds per face with ``batch`` chips per call: the best of ``rounds`` rounds of at least ``faces`` faces.

    The best round, not the mean, because other processes on a shared machine only ever add time.
    """
    reps = -(-batch // len(chips))
    pool = np.concatenate([chips] * reps)[:batch]
    embed(pool)  # warm-up: model load, allocator, cuDNN autotuning
    calls = max(2, -(-faces // batch))
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            embed(pool)
        best = min(best, (time.perf_counter() - t) / (calls * batch))
    return best


def row(name: str, device: str, batch: int, sec: float, ref: float | None) -> str:
    ratio = f"{ref / sec:8.1f}x" if ref else f"{'-':>9}"
    return f"{name:<16}{device:<7}{batch:>6}{sec * 1000:>10.2f}{1 / sec:>10.1f}{ratio}"


def recognizer(name: str, **options: object) -> Recognizer | None:
    try:
        rec = create_recognizer(name, **options)
        rec.embed(np.zeros((1, 150, 150, 3), np.uint8))
    except ImportError as exc:  # DependencyError included
        print(f"{name}: skipped ({exc})")
        return None
    return rec


def end_to_end(paths: list[Path], detectors: list[str], recognizers: list[str]) -> None:
    """Images/s of the whole pipeline (decode → detect → align → embed) with the streaming API, vs face_recognition."""
    from faceprint import Pipeline

    print(f"\nend to end, {len(paths)} photos, largest face each, represent_stream(batch_size=32, workers=2)")
    print(f"{'detector':<14}{'recognizer':<12}{'images/s':>10}{'ms/image':>10}{'vs face_recognition':>21}")
    sec = bench_face_recognition(paths)  # benchmarks/pipeline.py, run as a sibling script
    fr = 1 / sec if sec else None
    for det in detectors:
        for rec in recognizers:
            pipe = Pipeline(det, rec)
            pipe.represent(paths[0])  # warm-up: loads every model
            t = time.perf_counter()
            n = sum(1 for _ in pipe.represent_stream(paths, batch_size=32, workers=2, errors="skip"))
            rate = n / (time.perf_counter() - t)
            ratio = f"{rate / fr:20.2f}x" if fr else f"{'-':>21}"
            print(f"{det:<14}{rec:<12}{rate:>10.2f}{1000 / rate:>10.1f}{ratio}")
    if fr:
        print(f"{'face_recognition 1.3 (HOG + dlib)':<36}{fr:>10.2f}{1000 / fr:>10.1f}")
    else:
        print("face_recognition not installed (pip install --no-deps face_recognition): no ratio")


def cuda_rows(chips: np.ndarray, batches: list[int], faces: int, ref1: float | None) -> None:
    """CUDA rows for every converted backend that sees a GPU; fp16 also reports its worst cosine distance to fp32."""
    import onnxruntime as ort

    try:
        import torch

        has_torch_cuda = torch.cuda.is_available()
    except ImportError:
        has_torch_cuda = False
    runs: list[tuple[str, dict]] = []
    if "CUDAExecutionProvider" in ort.get_available_providers():
        runs.append(("dlib", {}))
    if has_torch_cuda:
        runs += [("dlib_torch", {}), ("dlib_torch", {"half": True})]
    if not runs:
        print("\nno CUDA GPU visible to onnxruntime or PyTorch: CUDA rows skipped")
        return
    fp32 = None
    for name, opts in runs:
        rec = recognizer(name, device="cuda", batch_size=1, **opts)
        if rec is None:
            continue
        label = name + ("-fp16" if opts.get("half") else "")
        for b in batches:
            rec.batch_size = b
            print(row(label, "cuda", b, time_per_face(rec.embed, chips, b, max(faces * 8, 2 * b)), ref1))
        rec.batch_size = 64
        out = rec.embed(chips)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        if fp32 is None:
            fp32 = out
        else:
            print(f"{label}: worst cosine distance to {runs[0][0]} fp32 on these chips: {float((1 - (out * fp32).sum(1)).max()):.2e}")
    print("cuda rows compare against dlib-bin at batch 1 on the CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    ap.add_argument("--limit", type=int, default=20, help="photos to take chips from")
    ap.add_argument("--faces", type=int, default=32, help="faces per timed round (at least 2 calls; best of 3)")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--cuda-batches", default="1,2,4,8,16,32,64,128,256")
    ap.add_argument("--e2e", default="mtcnn,dlib_hog,opencv_haar,dlib_mmod", help="detectors for the end-to-end rows ('' for none)")
    ap.add_argument("--e2e-recognizers", default="dlib_bin,dlib,dlib_torch")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    chips, what = make_chips(args.folder, args.limit)

    import os

    print(f"{what}; {os.cpu_count()} CPU cores\n")
    print(f"{'backend':<16}{'device':<7}{'batch':>6}{'ms/face':>10}{'faces/s':>10}{'vs dlib':>9}")
    ref: dict[int, float] = {}
    dlib_rec = recognizer("dlib_bin")
    for b in batches if dlib_rec else []:
        dlib_rec.batch_size = b
        ref[b] = time_per_face(dlib_rec.embed, chips, b, args.faces)
        print(row("dlib-bin", "cpu", b, ref[b], None))
    for name, label in (("dlib", "dlib (onnx)"), ("dlib_torch", "dlib_torch")):
        rec = recognizer(name, device="cpu")
        for b in batches if rec else []:
            rec.batch_size = b
            print(row(label, "cpu", b, time_per_face(rec.embed, chips, b, args.faces * 4), ref.get(b)))
    if args.e2e and args.folder.is_dir():
        paths = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in EXTS)[: args.limit]
        end_to_end(paths, args.e2e.split(","), args.e2e_recognizers.split(","))
    cuda_rows(chips, [int(x) for x in args.cuda_batches.split(",")], args.faces, ref.get(1))


if __name__ == "__main__":
    main()
