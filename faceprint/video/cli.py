"""``faceprint stream SOURCE``: track and recognise faces in a webcam, video file or stream.

Exit codes: 0 ran to the end of the source, 2 bad input (unreadable source, bad option), 1 other
failure, 130 stopped with Ctrl-C (the outputs are finished and playable).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add the ``stream`` sub-command to the main parser's sub-parsers."""
    p = sub.add_parser("stream", help="real-time video: track, recognise and describe faces (webcam, file, RTSP)")
    p.add_argument("source", help="webcam index (0), video file, rtsp:// or http(s):// URL, folder of frames, "
                                  "glob or frames/%%04d.png pattern")  # fmt: skip
    p.add_argument("--db", help="gallery: folder of photos (one sub-folder per person), gallery folder or URL")
    p.add_argument("--out", help="write the annotated video here (.mp4)")
    p.add_argument("--events", help="write JSON-lines events here")
    p.add_argument("--show", action="store_true", help="show a live window (where a display exists)")
    from faceprint import cli_options as O

    O.add_detector(p, note="; yunet is the fastest")
    O.add_model(p)
    O.add_device(p)
    O.add_tta(p)
    p.add_argument("--every", type=int, default=1, help="process every Nth frame (default: every frame)")
    p.add_argument("--actions", default=None, help="attributes per track, comma-separated: age,gender,emotion")
    p.add_argument("--anti-spoofing", action="store_true", help="judge liveness per track")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--threshold", type=float, default=None, help="accept a gallery identity at or below this distance")
    p.add_argument("--detect-every", type=int, default=1,
                   help="run the detector on every Nth frame, Kalman prediction between (default 1)")
    p.add_argument("--detect-side", type=int, default=640, help="long side the detector sees (default 640)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a camera or stream (default 10)")
    p.add_argument("--fps", type=float, default=None, help="frame rate of a folder or pattern of frames (default 25); sets the timestamps")
    p.add_argument("--json", action="store_true", help="print events and the summary as JSON lines")


def _line(e: Any) -> str:
    d = e.data
    what = {
        "track_started": "appeared",
        "identified": f"is {d.get('identity')} (distance {d.get('distance') or 0:.3f}, {d.get('frames')} frame(s))",
        "attributes": f"age {d.get('age') or 0:.0f} {d.get('gender') or ''} {d.get('emotion') or ''}".rstrip(),
        "spoof_suspected": f"looks SPOOFED (P(live) {d.get('liveness') or 0:.2f})",
        "track_ended": f"left after {d.get('duration', 0):.1f} s ({d.get('identity') or 'not identified'})",
    }.get(e.event, e.event)
    return f"frame {e.frame:>6}  {e.timestamp:8.2f} s  track {e.track_id:>3}  {what}"


def run(args: argparse.Namespace) -> int:
    from faceprint.augment import DEFAULT_TTA
    from faceprint.errors import ConfigError, VideoError
    from faceprint.video.stream import stream

    def say(events: Any) -> None:
        for e in events:
            print(json.dumps(e.to_dict()) if args.json else _line(e), flush=True)

    try:
        s = stream(args.source, db=args.db, out=args.out, events=args.events, show=args.show, every=args.every,
                   max_frames=args.max_frames, timeout=args.timeout, fps=args.fps, detector=args.detector,
                   recognizer=args.model, device=getattr(args, "device", "cpu"),
                   tta=getattr(args, "tta", None) or DEFAULT_TTA, actions=args.actions, anti_spoofing=args.anti_spoofing,
                   threshold=args.threshold, detect_side=args.detect_side,
                   detect_every=args.detect_every)  # fmt: skip
    except (VideoError, ConfigError) as exc:
        print(f"faceprint: error: {exc}", file=sys.stderr)
        return 2
    code = 0
    try:
        for r in s:
            say(r.events)
    except KeyboardInterrupt:
        code = 130
    finally:
        summary = s.close()
    say(s.final_events)
    print(json.dumps({"summary": summary.to_dict()}) if args.json else summary.text())
    return 130 if summary.interrupted else code
