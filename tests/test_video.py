"""Real-time video: tracking, per-track recognition, outputs and bad input, on videos made at test time."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT, SHARED_WEIGHTS, needs_faces
from tests.video_helpers import CAST, cuts_video, gallery_folder, panzoom_video, slide_video, write_video

_YUNET = SHARED_WEIGHTS / "face_detection_yunet_2023mar.onnx"
pytestmark = [needs_faces, pytest.mark.skipif(not _YUNET.is_file(), reason=f"YuNet weights not found at {_YUNET}")]
DET = "yunet"  # the fast detector keeps these tests quick; the default (mtcnn) runs in test_default_detector


def decode(path: Path) -> tuple[int, int, int, str]:
    """(frames, width, height, fourcc) of a video, as OpenCV reads it back."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), path
    n = 0
    while cap.read()[0]:
        n += 1
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode(errors="replace")
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    return n, w, h, fourcc


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video")


@pytest.fixture(scope="module")
def gallery(work: Path) -> Path:
    return gallery_folder(work / "people")


@pytest.fixture(scope="module")
def slide(work: Path):
    return slide_video(work / "slide.mp4")


@pytest.fixture(scope="module")
def cuts(work: Path):
    return cuts_video(work / "cuts.mp4")


def _run(path: Path, **options):
    import faceprint

    s = faceprint.stream(str(path), detector=DET, **options)
    results = list(s)
    return s, results


def _track_people(results, truth) -> dict[int, set]:
    seen: dict[int, set] = {}
    for r in results:
        for f in r.faces:
            seen.setdefault(f.track_id, set()).add(truth.who(r.index, f.box))
    return seen


def _check_events(events: list[dict]) -> None:
    frames = [e["frame"] for e in events]
    stamps = [e["timestamp"] for e in events]
    assert frames == sorted(frames) and stamps == sorted(stamps)
    for tid in {e["track_id"] for e in events}:
        mine = [e for e in events if e["track_id"] == tid]
        assert mine[0]["event"] == "track_started" and mine[-1]["event"] == "track_ended", mine
        assert [e["event"] for e in mine].count("track_started") == 1
        assert mine[-1]["duration"] >= 0 and mine[-1]["last_frame"] >= mine[0]["first_frame"]
        for e in mine:
            assert {"event", "track_id", "frame", "timestamp"} <= set(e)


def test_slide_and_occlusion_keeps_ids_and_names_people(work: Path, gallery: Path, slide) -> None:
    from faceprint.video import read_events

    path, truth = slide
    out, ev = work / "slide_out.mp4", work / "slide.jsonl"
    s, results = _run(path, db=str(gallery), out=str(out), events=str(ev))
    people = _track_people(results, truth)
    assert len(people) == 2 and all(len(p) == 1 and None not in p for p in people.values()), people
    assert {next(iter(p)) for p in people.values()} == {"p03", "p10"}
    hidden = [r for r in results if not truth.frames[r.index]]
    assert hidden and all(not r.faces for r in hidden)  # nothing reported behind the bar, ids kept after it
    final = {f.track_id: f for f in results[-1].faces}
    for tid, who in people.items():
        assert final[tid].identity == next(iter(who)) and final[tid].verified and final[tid].identity_frames >= 1
    assert s.summary.tracks == 2 and s.summary.identities == ("p03", "p10")
    assert s.summary.frames_read == s.summary.frames_processed == 50 and s.summary.frames_dropped == 0
    n, w, h, _ = decode(out)
    assert (n, w, h) == (50, 640, 480)
    events = read_events(ev)
    _check_events(events)
    named = [e for e in events if e["event"] == "identified"]
    assert {(e["track_id"], e["identity"]) for e in named} == {(t, next(iter(p))) for t, p in people.items()}
    assert all(e["distance"] <= 0.6 for e in named)


def test_cuts_start_new_tracks_with_the_right_people(gallery: Path, cuts) -> None:
    path, truth, order = cuts
    s, results = _run(path, db=str(gallery))
    people = _track_people(results, truth)
    assert [next(iter(p)) for _, p in sorted(people.items())] == order, people
    assert all(len(p) == 1 for p in people.values())
    started = [e for r in results for e in r.events if e.event == "track_started"]
    assert [e.frame for e in started] == [1, 12, 24]  # a track is reported from its 2nd hit; cuts split at once
    ended = [e for r in results for e in r.events if e.event == "track_ended"] + s.final_events
    assert [e.data["identity"] for e in ended] == order


def test_an_indexed_gallery_folder_works_as_db(work: Path, gallery: Path, cuts) -> None:
    from faceprint.search.finder import index

    path, truth, order = cuts
    db = work / "indexed"
    index(str(gallery), str(db), detector=DET)  # a gallery folder (SQLite + faiss), not a photo folder
    s, results = _run(path, db=str(db), max_frames=20)  # the first two shots
    people = _track_people(results, truth)
    assert [next(iter(p)) for _, p in sorted(people.items())] == order[:2]
    assert s.summary.identities == tuple(sorted(order[:2]))


def test_panzoom_over_a_group_keeps_every_face_and_says_unknown(work: Path, gallery: Path) -> None:
    path = panzoom_video(work / "panzoom.mp4")
    s, results = _run(path, db=str(gallery))
    assert s.summary.tracks == 5  # sample5.jpg shows 5 people; none is lost or re-numbered while the camera moves
    assert all(len(r.faces) == 5 for r in results[1:])
    assert all(f.identity == "unknown" and f.verified is False for f in results[-1].faces)  # not in the gallery
    assert s.summary.identities == ()


def test_detect_every_third_frame_coasts_on_the_prediction(gallery: Path, slide) -> None:
    path, truth = slide
    s, results = _run(path, db=str(gallery), detect_every=3)
    people = _track_people(results, truth)
    assert s.summary.tracks == len(people) == 2 and all(len(p) == 1 and None not in p for p in people.values()), people
    final = {f.track_id: f.identity for f in results[-1].faces}
    assert {next(iter(p)) for p in people.values()} == set(final.values()) == {"p03", "p10"}
    coasted = [r for r in results if r.faces and r.timings["detect"] == 0.0]
    assert len(coasted) > 20  # most frames skipped the detector
    for r in coasted:  # predicted boxes still cover the right photo
        assert all(truth.who(r.index, f.box) is not None for f in r.faces)


def test_default_detector_and_every(work: Path, slide) -> None:
    import faceprint

    path, truth = slide
    s = faceprint.stream(str(path), every=2, max_frames=30)  # mtcnn, no gallery
    results = list(s)
    assert [r.index for r in results] == list(range(0, 30, 2))
    assert s.summary.frames_read == 30 and s.summary.frames_skipped == 15 and s.summary.frames_processed == 15
    people = _track_people(results, truth)
    assert len(people) == 2 and all(len(p) == 1 for p in people.values())
    assert all(f.identity is None for r in results for f in r.faces)  # no gallery: no identity


def test_object_form_attributes_liveness_and_json(gallery: Path, slide) -> None:
    pytest.importorskip("torch")
    from faceprint.errors import ConfigError
    from faceprint.video import VideoPipeline

    path, _ = slide
    cap = cv2.VideoCapture(str(path))
    frames = [cap.read()[1] for _ in range(12)]
    cap.release()
    with VideoPipeline(str(gallery), detector=DET, actions="age,gender,emotion", anti_spoofing=True,
                       background=False) as vp:  # fmt: skip
        results = [vp.process(f, index=i, timestamp=i / 25) for i, f in enumerate(frames)]
        end = vp.finish()
        with pytest.raises(ConfigError, match="BGR uint8"):
            vp.process(np.zeros((10, 10), np.uint8))
    last = results[-1]
    assert (last.width, last.height, last.index) == (640, 480, 11) and len(last.faces) == 2
    for f in last.faces:
        assert f.identity in CAST and f.attribute_frames >= 1 and f.liveness_frames >= 1
        assert 0 <= f.age < 100 and f.gender in ("woman", "man") and isinstance(f.emotion, str)
        assert 0.0 <= f.liveness <= 1.0 and isinstance(f.is_real, bool)
    kinds = [e.event for r in results for e in r.events] + [e.event for e in end]
    assert {"track_started", "identified", "attributes", "track_ended"} <= set(kinds)
    json.dumps([r.to_dict() for r in results])  # plain types only


def test_frame_folders_globs_and_patterns(work: Path, slide) -> None:
    import faceprint

    path, truth = slide
    cap = cv2.VideoCapture(str(path))
    folder = work / "frames"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"f{i:04d}.png"), cap.read()[1])
    cap.release()
    (folder / "notes.txt").write_text("not a frame")
    for source in (folder, folder / "f*.png", folder / "f%04d.png"):
        s = faceprint.stream(str(source), detector=DET, fps=10)
        results = list(s)
        assert [r.index for r in results] == list(range(12)), source
        assert results[5].timestamp == pytest.approx(0.5, abs=0.01)  # 10 frames/s
        assert (results[0].width, results[0].height) == (640, 480)
        assert len(_track_people(results, truth)) == 2


def test_writer_h264_and_mp4v_fallback(work: Path) -> None:
    from faceprint.video import VideoWriter

    frames = [np.full((120, 161, 3), i * 10, np.uint8) for i in range(10)]  # an odd width on purpose
    for codec, fourcc in (("auto", ("avc1", "h264")), ("mp4v", ("mp4v", "FMP4"))):
        if codec == "auto":
            pytest.importorskip("av")
        out = work / f"w_{codec}.mp4"
        with VideoWriter(out, 25, codec=codec) as w:
            for f in frames:
                w.write(f)
        n, width, height, got = decode(out)
        assert n == 10 and height == 120 and width in (160, 161) and got in fourcc, (n, width, got)


def test_bad_inputs_are_typed_errors(work: Path) -> None:
    import faceprint
    from faceprint.errors import VideoError, VideoNotFoundError

    with pytest.raises(VideoNotFoundError, match=r"nope\.mp4"):
        faceprint.stream(str(work / "nope.mp4"))
    text = work / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match=r"notes\.mp4.*cannot be decoded"):
        faceprint.stream(str(text))
    (work / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        faceprint.stream(str(work / "empty.mp4"))
    (work / "nothing").mkdir()
    with pytest.raises(VideoError, match="no image files"):
        faceprint.stream(str(work / "nothing"))
    with pytest.raises(VideoError, match="webcam 97: no such camera"):
        faceprint.stream(97)
    full = write_video(work / "whole.mp4", [np.full((96, 128, 3), i, np.uint8) for i in range(30)])
    cut = work / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # mp4v: the index (moov) is lost at the end
    with pytest.raises(VideoError, match=r"cut\.mp4"):
        faceprint.stream(str(cut))


def test_truncated_mkv_ends_cleanly(work: Path) -> None:
    pytest.importorskip("av")
    import faceprint
    from faceprint.video import VideoWriter

    mkv = work / "whole.mkv"
    rng = np.random.default_rng(0)
    with VideoWriter(mkv, 25) as w:
        for _ in range(40):
            w.write(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    half = work / "half.mkv"
    half.write_bytes(mkv.read_bytes()[: mkv.stat().st_size // 2])
    s = faceprint.stream(str(half), detector=DET)
    results = list(s)
    assert 0 < len(results) < 40 and s.summary.ended_early


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_stream_urls_that_do_not_answer_time_out(work: Path) -> None:
    import faceprint
    from faceprint.errors import VideoTimeoutError

    url = f"rtsp://127.0.0.1:{_closed_port()}/cam"
    t = time.monotonic()
    with pytest.raises(VideoTimeoutError, match=url):
        faceprint.stream(url, timeout=2)
    assert time.monotonic() - t < 4
    silent = socket.socket()  # accepts the connection, never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    url = f"rtsp://127.0.0.1:{silent.getsockname()[1]}/cam"
    try:
        t = time.monotonic()
        with pytest.raises(VideoTimeoutError, match=url):
            faceprint.stream(url, timeout=1.5)
        assert time.monotonic() - t < 6
    finally:
        silent.close()


def _mjpeg_server(frames: list[np.ndarray], fps: float) -> tuple[str, threading.Thread, socket.socket]:
    """A live HTTP MJPEG camera that sends ``frames`` at ``fps`` and then hangs up (a stream ending early)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(20)

    def run() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=fr\r\n\r\n")
            for f in frames:
                jpg = cv2.imencode(".jpg", f)[1].tobytes()
                try:
                    conn.sendall(b"--fr\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg) + jpg + b"\r\n")
                except OSError:
                    return
                time.sleep(1 / fps)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}/video.mjpg", t, srv


def test_live_stream_drops_frames_rather_than_lag_and_ends_cleanly(slide) -> None:
    import faceprint

    path, _ = slide
    cap = cv2.VideoCapture(str(path))
    frames = [cv2.resize(cap.read()[1], (320, 240)) for _ in range(50)]
    cap.release()
    url, thread, srv = _mjpeg_server(frames * 2, fps=100)
    try:
        s = faceprint.stream(url, detector=DET, timeout=5)
        processed = 0
        for _ in s:
            processed += 1
            time.sleep(0.03)  # a consumer slower than the camera
        summary = s.summary
    finally:
        srv.close()
        thread.join(5)
    assert summary.frames_read >= 90 and summary.frames_dropped > 0
    assert summary.frames_processed == processed == summary.frames_read - summary.frames_dropped
    assert not summary.ended_early  # a live source has no length: it just ended


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (apt-get install xvfb)")
def test_show_opens_a_window_on_a_display(slide, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tkinter")
    import faceprint

    display = f":{100 + os.getpid() % 400}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        monkeypatch.setenv("DISPLAY", display)
        path, _ = slide
        s = faceprint.stream(str(path), detector=DET, show=True, max_frames=8)
        assert sum(1 for _ in s) == 8
        assert s.window is not None and s.window.kind in ("opencv", "tk")
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FACEPRINT_OFFLINE": "1", "FACEPRINT_WEIGHTS_PATH": str(SHARED_WEIGHTS)}
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "faceprint", *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)  # fmt: skip


def test_cli_stream(work: Path, gallery: Path, cuts) -> None:
    path, _, order = cuts
    out, ev = work / "cli.mp4", work / "cli.jsonl"
    r = _cli("stream", str(path), "--db", str(gallery), "--detector", DET, "--out", str(out), "--events", str(ev),
             "--show", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    summary = lines[-1]["summary"]
    assert summary["tracks"] == 3 and sorted(summary["identities"]) == sorted(order)
    assert "no display" in r.stderr  # --show without a display: a warning, not a crash
    assert decode(out)[:3] == (36, 480, 360)
    assert [e["identity"] for e in lines[:-1] if e["event"] == "identified"] == order
    r = _cli("stream", str(work / "missing.mkv"))
    assert r.returncode == 2 and "missing.mkv" in r.stderr and "Traceback" not in r.stderr


def test_cli_ctrl_c_leaves_a_playable_video(work: Path) -> None:
    pytest.importorskip("av")
    rng = np.random.default_rng(1)
    long = write_video(work / "long.mp4", [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(3000)])
    out = work / "interrupted.mp4"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FACEPRINT_OFFLINE": "1", "FACEPRINT_WEIGHTS_PATH": str(SHARED_WEIGHTS)}
    p = subprocess.Popen([sys.executable, "-m", "faceprint", "stream", str(long), "--detector", DET, "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "stopped by the user" in stdout and "Traceback" not in stderr
    n, w, h, _ = decode(out)
    assert 0 < n < 3000 and (w, h) == (160, 120)
