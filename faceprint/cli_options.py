"""The command-line options every model-running subcommand shares, built from the library's own
constants (align modes, metrics, devices, face policies, test-time augmentation, defaults), and the
:class:`~faceprint.config.PipelineConfig` they describe. argparse only: cheap to import."""

from __future__ import annotations

import argparse
import math
from typing import Any

from faceprint.augment import DEFAULT_TTA, TTA_MODES
from faceprint.config import (
    ALIGN_MODES,
    DEFAULT_DETECTOR,
    DEFAULT_FACES,
    DEFAULT_RECOGNIZER,
    DEVICES,
    FACE_POLICIES,
    PipelineConfig,
)
from faceprint.image import DEFAULT_MAX_PIXELS
from faceprint.models.specs import METRICS


def checked_arg(kind: type, low: float | None = None, high: float | None = None) -> Any:
    """An argparse type: ``kind`` within [low, high], finite; refused with a clear message otherwise."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
            span = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be a finite number {span}, not {text!r}")
        return value

    return parse


def add_detector(p: Any, *, default: str | None = DEFAULT_DETECTOR, several: bool = False, note: str = "") -> None:
    shown = f"default: {default}" if default else f"default: the config's, else {DEFAULT_DETECTOR}"
    what = "face detector(s), comma-separated" if several else "face detector"
    p.add_argument("--detector", default=default, help=f"{what} ({shown}{note})")


def add_model(p: Any, *, default: str | None = DEFAULT_RECOGNIZER, several: bool = False) -> None:
    shown = f"default: {default}" if default else f"default: the config's, else {DEFAULT_RECOGNIZER}"
    what = "recognition model(s), comma-separated" if several else "recognition model"
    p.add_argument("--model", default=default, help=f"{what} ({shown})")


def add_align(p: Any) -> None:
    p.add_argument("--align", default="template", choices=ALIGN_MODES, help="face alignment (default: template)")


def add_metric(p: Any, *, help: str = "distance (default: the model's)") -> None:
    p.add_argument("--metric", default=None, choices=METRICS, help=help)


def add_device(p: Any, *, detector_device: bool = False, default: str | None = "cpu") -> None:
    shown = default or "the config's, else cpu"
    p.add_argument("--device", default=default, choices=DEVICES,
                   help=f"where the models run: cpu, cuda or auto (default: {shown}); a model that cannot use "
                   "the GPU asked for is an error, never a silent fall-back")  # fmt: skip
    if detector_device:
        p.add_argument("--detector-device", default=None, choices=DEVICES,
                       help="where the detector runs (default: --device)")  # fmt: skip


def add_tta(p: Any, *, gallery: bool = False) -> None:
    if gallery:
        shown = f"default: the gallery's; {DEFAULT_TTA} for a new one"
    else:
        shown = f"default: {DEFAULT_TTA}"
    p.add_argument("--tta", default=None, choices=TTA_MODES,
                   help=f"test-time augmentation: flip averages each face with its mirror image, none does not ({shown})")  # fmt: skip


def add_faces(p: Any, *, default: str = DEFAULT_FACES, help: str | None = None) -> None:
    p.add_argument("--faces", default=default, choices=FACE_POLICIES,
                   help=help or f"which faces: main (the subject: large and central), largest, best scoring, or all (default: {default})")  # fmt: skip


def add_max_pixels(p: Any, default: int | None = DEFAULT_MAX_PIXELS) -> None:
    p.add_argument("--max-pixels", type=checked_arg(int, 1), default=default,
                   help=f"refuse images with more pixels than this, whatever their kind (default {default or DEFAULT_MAX_PIXELS:,})")  # fmt: skip


def add_json(p: Any) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def pipeline_config(args: argparse.Namespace, **changes: Any) -> PipelineConfig:
    """The :class:`PipelineConfig` a parsed command line asks for (options it lacks keep their defaults)."""
    values: dict[str, Any] = {}
    for name, key in (("detector", "detector"), ("model", "recognizer"), ("align", "align"), ("device", "device"),
                      ("tta", "tta"), ("max_pixels", "max_pixels")):  # fmt: skip
        value = getattr(args, name, None)
        if value is not None:
            values[key] = value
    if getattr(args, "detector_device", None):
        values["detector_options"] = {"device": args.detector_device}
    return PipelineConfig(**{**values, **changes})
