"""Real-time video benchmark: faceprint.stream against the naive loop, on videos generated from ../shared/faces.

    FACEPRINT_WEIGHTS_PATH=../shared/weights python benchmarks/stream.py [--frames 100] [--minutes 2]

Prints, per resolution × faces × detector: frames/s of ``faceprint.stream`` (decode thread, detection +
tracking, embeddings of new/changed tracks batched in a worker), ``process()`` latency p50/p99, and the
naive loop (``Pipeline.represent(frame, faces="all")`` every frame: detect + align + embed every face,
what deepface's ``stream`` does) in the same run, as a ratio. Then identities and id switches on the
test videos, and RSS over a looping source (``--minutes``; 0 to skip).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceprint.video.source import FrameReader, FrameSource
from tests.video_helpers import cuts_video, faces_video, gallery_folder, slide_video


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def load_frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    return frames


def cpu_s() -> float:
    """CPU seconds this process has used, all threads (less sensitive to other load than wall time)."""
    t = os.times()
    return t.user + t.system


def ours(path: Path, detector: str, detect_every: int = 1) -> tuple[float, float, float, int, float]:
    import faceprint

    s = faceprint.stream(str(path), detector=detector, detect_every=detect_every)
    t0, c0 = time.perf_counter(), cpu_s()
    lat = [r.timings["total"] for r in s]
    dt, cpu = time.perf_counter() - t0, cpu_s() - c0
    p50, p99 = (1000 * float(np.percentile(lat, q)) for q in (50, 99))
    return len(lat) / dt, p50, p99, s.summary.tracks, 1000 * cpu / len(lat)


def naive(frames: list[np.ndarray], detector: str) -> tuple[float, float]:
    from faceprint import Pipeline

    p = Pipeline(detector)
    p.represent(frames[0], faces="all", enforce_detection=False)  # load the models outside the clock
    t0, c0 = time.perf_counter(), cpu_s()
    for f in frames:
        p.represent(f, faces="all", enforce_detection=False)
    return len(frames) / (time.perf_counter() - t0), 1000 * (cpu_s() - c0) / len(frames)


def speed_table(work: Path, n_frames: int, n_naive: int, detectors: list[str], sizes: list[tuple[int, int]],
                faces: list[int], every: list[int]) -> None:  # fmt: skip
    print(f"\n## Speed ({n_frames} frames per video; naive loop on the first {n_naive})\n")
    print("| video | faces | detector | stream fps | process() p50 ms | p99 ms | CPU ms/frame | tracks | naive fps | "
          "naive CPU ms/frame | fps ratio | CPU ratio |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        for n_faces in faces:
            path = faces_video(work / f"faces_{size[0]}_{n_faces}.mp4", n_faces, size, n=n_frames)
            frames = load_frames(path)[:n_naive]
            for det, de in ((d, e) for d in detectors for e in every):
                fps, p50, p99, tracks, cpu = ours(path, det, de)
                nfps, ncpu = naive(frames, det)
                label = det if de == 1 else f"{det}, detect_every={de}"
                print(f"| {size[0]}×{size[1]} | {n_faces} | {label} | {fps:.1f} | {p50:.1f} | {p99:.1f} | {cpu:.0f} | "
                      f"{tracks} | {nfps:.1f} | {ncpu:.0f} | {fps / nfps:.1f}× | {ncpu / cpu:.1f}× |", flush=True)  # fmt: skip


def accuracy_table(work: Path, detectors: list[str]) -> None:
    import faceprint

    gallery = gallery_folder(work / "people")
    print("\n## Identities and id switches on the test videos\n")
    print("| video | detector | tracks | true people | tracks named right | id switches |")
    print("|---|---|---:|---:|---:|---:|")
    slide = slide_video(work / "slide.mp4")
    cuts = cuts_video(work / "cuts.mp4")
    for name, (path, truth, *_) in (("slide + occlusion", slide), ("cuts", cuts)):
        for det in detectors:
            s = faceprint.stream(str(path), db=str(gallery), detector=det)
            seen: dict[int, set] = {}
            ended: dict[int, str | None] = {}
            for r in s:
                for f in r.faces:
                    seen.setdefault(f.track_id, set()).add(truth.who(r.index, f.box))
                ended |= {e.track_id: e.data.get("identity") for e in r.events if e.event == "track_ended"}
            ended |= {e.track_id: e.data.get("identity") for e in s.final_events if e.event == "track_ended"}
            people = {p for frame in truth.frames for p in frame}
            switches = sum(len(v) - 1 for v in seen.values())
            named = sum(1 for t, v in seen.items() if len(v) == 1 and ended.get(t) in v)
            print(f"| {name} | {det} | {len(seen)} | {len(people)} | {named}/{len(seen)} | {switches} |", flush=True)


class LoopSource(FrameSource):
    """A video's frames over and over, as fast as they are asked for (for the memory run)."""

    def __init__(self, frames: list[np.ndarray], fps: float = 25.0) -> None:
        self.name, self.live, self.fps, self.expected_frames = "loop", False, fps, None
        self.frames, self.i = frames, 0

    def read(self) -> tuple[np.ndarray, float] | None:
        f = self.frames[self.i % len(self.frames)]
        self.i += 1
        return f, self.i / self.fps


def memory_run(work: Path, minutes: float, detector: str, churn: bool = False) -> None:
    """RSS while a video loops: 5 faces at 720p that stay, or (``churn``) the cuts video: new tracks every 12 frames."""
    from faceprint.video import VideoPipeline

    if churn:
        path, what = cuts_video(work / "loop_cuts.mp4")[0], "480×360 cuts video: 3 new tracks per loop"
    else:
        path, what = faces_video(work / "loop.mp4", 5, (1280, 720), n=100), "1280×720, 5 faces"
    gallery = gallery_folder(work / f"people_mem{int(churn)}")
    frames = load_frames(path)
    print(f"\n## Memory over a looping source ({minutes:g} min, {what}, {detector}, gallery of 12 faces)\n")
    print("| minute | frames | tracks so far | RSS MB |")
    print("|---:|---:|---:|---:|")
    reader = FrameReader(LoopSource(frames))
    t0 = time.monotonic()
    next_mark, n = 0.0, 0
    with VideoPipeline(str(gallery), detector=detector, actions="age,gender,emotion") as vp:
        for fr in reader:
            vp.process(fr.pixels, index=fr.index, timestamp=fr.timestamp)
            n += 1
            el = (time.monotonic() - t0) / 60
            if el >= next_mark:
                print(f"| {el:.1f} | {n} | {vp.tracks_started} | {rss_mb():.0f} |", flush=True)
                next_mark += max(minutes / 8, 0.25)
            if el >= minutes:
                break
        print(f"| {el:.1f} | {n} | {vp.tracks_started} | {rss_mb():.0f} |")
    reader.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--naive-frames", type=int, default=30)
    ap.add_argument("--detectors", default="mtcnn,yunet", help="the default and the fastest")
    ap.add_argument("--minutes", type=float, default=2.0, help="length of each memory run (0: skip)")
    ap.add_argument("--sizes", default="640x480,1280x720")
    ap.add_argument("--faces", default="1,5,20")
    ap.add_argument("--detect-every", default="1", help="comma-separated values to compare, e.g. 1,3")
    ap.add_argument("--only-memory", action="store_true", help="skip the speed and accuracy tables")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.2f} at start; opencv {cv2.__version__}")
    detectors = args.detectors.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.only_memory:
            sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
            speed_table(work, args.frames, args.naive_frames, detectors, sizes,  # type: ignore[arg-type]
                        [int(v) for v in args.faces.split(",")], [int(v) for v in args.detect_every.split(",")])
            accuracy_table(work, detectors)
        if args.minutes > 0:
            memory_run(work, args.minutes, detectors[-1])
            memory_run(work, args.minutes, detectors[-1], churn=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
