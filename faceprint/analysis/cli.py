"""``faceprint analyze IMG``: the command-line front of :meth:`faceprint.pipeline.Pipeline.analyze`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from faceprint.analysis.analyze import parse_actions
from faceprint.image import DEFAULT_MAX_PIXELS
from faceprint.types import FaceAnalysis


def _line(i: int, r: FaceAnalysis) -> str:
    x1, y1, x2, y2 = r.box
    parts = [f"  face {i}: box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f})"]
    if r.age is not None:
        parts.append(f"age {r.age:.0f}")
    if r.gender is not None and r.gender_probabilities:
        parts.append(f"{r.gender} ({r.gender_probabilities[r.gender]:.2f})")
    if r.emotion is not None and r.emotion_probabilities:
        parts.append(f"{r.emotion} ({r.emotion_probabilities[r.emotion]:.2f})")
    if r.race is not None and r.race_probabilities:
        parts.append(f"{r.race} ({r.race_probabilities[r.race]:.2f})")
    if r.is_real is not None:
        parts.append(f"{'live' if r.is_real else 'SPOOF'} (P(live) {r.antispoof_score:.2f})")
    return "  ".join(parts)


def run_analyze(args: argparse.Namespace, emit: Callable[[argparse.Namespace, Any, str], None]) -> int:
    from faceprint.pipeline import Pipeline

    actions = parse_actions(args.actions)  # a bad list is a ConfigError → exit code 2
    results = Pipeline(args.detector, max_pixels=getattr(args, "max_pixels", DEFAULT_MAX_PIXELS),
                       device=getattr(args, "device", "cpu")).analyze(
        args.img, actions=actions, anti_spoofing=args.anti_spoofing, skip_detection=args.skip_detection
    )
    src = results[0].source if results else args.img
    lines = [f"{len(results)} face(s) in {src}"] + [_line(i, r) for i, r in enumerate(results)]
    emit(args, [r.to_dict() for r in results], "\n".join(lines))
    return 0
