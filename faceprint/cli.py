"""The ``faceprint`` command line. Exit codes: 0 ran, 2 bad input, 1 other failure."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from faceprint import cli_options as O
from faceprint.cli_options import checked_arg
from faceprint.errors import ConfigError, FaceprintError, ImageError, ModelNotFoundError, NoFaceError

BAD_INPUT = (ImageError, NoFaceError, ConfigError, ModelNotFoundError)

EPILOG = """exit codes: 0 ran (verify prints its decision), 2 bad input (unreadable image, no face, unknown
model, bad option), 1 any other failure (missing or corrupt weights, damaged gallery), 130 interrupted.
environment: FACEPRINT_OFFLINE=1 (never download), FACEPRINT_WEIGHTS_PATH (folders searched for weight
files, os.pathsep-separated), FACEPRINT_HOME (cache, weights, galleries; default ~/.faceprint)."""


def _common(p: argparse.ArgumentParser, *, metric: bool = True) -> None:
    O.add_detector(p)
    O.add_model(p)
    if metric:
        O.add_metric(p)
    O.add_align(p)
    O.add_device(p, detector_device=True)
    O.add_tta(p)
    p.add_argument("--no-enforce", action="store_true", help="use the whole image when no face is found")
    O.add_max_pixels(p)
    O.add_json(p)


def _parser() -> argparse.ArgumentParser:
    kw: dict[str, Any] = {"epilog": EPILOG, "formatter_class": argparse.RawDescriptionHelpFormatter}
    ap = argparse.ArgumentParser(prog="faceprint", description="Face recognition: detect, align, represent, verify.",
                                 **kw)  # fmt: skip
    ap.add_argument("-v", "--verbose", action="store_true", help="log what happens (INFO level)")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("verify", help="are two photos the same person?", **kw)
    p.add_argument("img1", help="first photo (path)")
    p.add_argument("img2", help="second photo (path)")
    p.add_argument("--threshold", type=checked_arg(float, 0.0), default=None,
                   help="same person when distance <= this (>= 0; default: the model's for the metric)")  # fmt: skip
    O.add_faces(p, help="which face of each photo: main (the subject: large and central), largest, best "
                "scoring, or all pairs (default: main)")
    _common(p)
    p = sub.add_parser("represent", help="embeddings of the faces in a photo", **kw)
    p.add_argument("img", help="the photo (path)")
    O.add_faces(p, help="which faces to embed: main, largest, best or all (default: main)")
    _common(p, metric=False)
    p = sub.add_parser("detect", help="find faces; optionally draw them", **kw)
    p.add_argument("img", help="the photo (path)")
    O.add_detector(p)
    O.add_device(p)
    p.add_argument("--out", help="write an annotated copy of the image here (PNG/JPEG)")
    p.add_argument("--min-face-size", type=checked_arg(int, 1), default=20, help="smallest face side kept, in pixels")
    p.add_argument("--score-threshold", type=checked_arg(float, 0.0, 1.0), default=None,
                   help="drop faces scoring lower, 0..1 (default: the detector's)")  # fmt: skip
    p.add_argument("--max-faces", type=checked_arg(int, 1), default=None, help="keep at most this many, best first")
    p.add_argument("--expand", type=checked_arg(float, 0.0, 10.0), default=0.0,
                   help="grow each box by this fraction per side")  # fmt: skip
    p.add_argument("--max-side", type=checked_arg(int, 16), default=None,
                   help="detect on a copy with this long side, >= 16 (default: per detector)")  # fmt: skip
    p.add_argument("--landmarks", default=None, choices=("68", "468"),
                   help="also dense landmarks + head pose: 68 (face-api) or 468 (FaceMesh)")  # fmt: skip
    O.add_max_pixels(p)
    O.add_json(p)
    for name, helptext in (
        ("evaluate", "accuracy figures on labelled pairs"),
        ("tune", "find thresholds on labelled pairs"),
    ):
        p = sub.add_parser(name, help=helptext, **kw)
        p.add_argument("pairs", help="LFW pairs.txt or CSV (img1,img2,label[,fold])")
        p.add_argument("--root", help="image folder (default: the pair file's folder)")
        O.add_model(p, several=True)
        O.add_detector(p, several=True)
        O.add_align(p)
        O.add_device(p)
        O.add_tta(p)
        p.add_argument("--folds", type=checked_arg(int, 2), default=10, help="folds for CSV pairs without a fold column")
        p.add_argument("--ext", default=".jpg", help="image extension for LFW pairs.txt")
        p.add_argument("--cache", help="embedding cache folder (default: $FACEPRINT_HOME/cache)")
        O.add_json(p)
        if name == "evaluate":
            O.add_metric(p, help="distance (default: each model's)")
            p.add_argument("--plots", help="write PNG plots into this folder")
            p.add_argument("--ensemble", default="logistic", choices=("logistic", "gbm", "none"),
                           help="learned combination of two or more pipelines (default: logistic)")  # fmt: skip
        else:
            p.add_argument("--metric", default="cosine,euclidean,euclidean_l2", help="comma-separated")
            p.add_argument("--method", default="infogain", choices=("infogain", "accuracy", "far_1e-3", "eer"),
                           help="how the threshold is chosen (default: infogain)")  # fmt: skip
            p.add_argument(
                "--write",
                nargs="?",
                const="",
                default=None,
                help="save to the thresholds file (default path: $FACEPRINT_HOME/thresholds.json)",
            )
    p = sub.add_parser("analyze", help="age, gender, emotion (race) of the faces in a photo", **kw)
    p.add_argument("img", help="the photo (path)")
    p.add_argument("--actions", default="age,gender,emotion", help="comma-separated: age,gender,emotion,race")
    O.add_detector(p)
    O.add_device(p)
    p.add_argument("--anti-spoofing", action="store_true", help="also judge whether each face is live")
    p.add_argument("--skip-detection", action="store_true", help="the image is already a face crop")
    O.add_max_pixels(p)
    O.add_json(p)
    from faceprint.search.cli import add_parsers as add_search_parsers

    add_search_parsers(sub)
    from faceprint.service.cli import add_parsers as add_service_parsers

    add_service_parsers(sub)
    from faceprint.video.cli import add_parsers as add_video_parsers

    add_video_parsers(sub)
    p = sub.add_parser("models", help="the model registry", **kw)
    p.add_argument("action", choices=("list", "download", "verify"), help="list | download NAME... | verify [NAME...]")
    p.add_argument("names", nargs="*", help="model names (download: required, or --all; verify: default all)")
    p.add_argument("--all", action="store_true", help="download: every model")
    p.add_argument("--task", default=None,
                   help="download: every model of a registry task (age, detector, ...); 'analysis': what analyze uses by default")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints escaped, never crashes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return _run(args)
    except BAD_INPUT as exc:
        print(f"faceprint: error: {exc}", file=sys.stderr)
        return 2
    except FaceprintError as exc:
        print(f"faceprint: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Interrupted says how much was saved
        print(f"faceprint: {exc or 'interrupted'}", file=sys.stderr)
        return 130


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _run(args: argparse.Namespace) -> int:
    if args.cmd == "models":
        return _models(args)
    if args.cmd in ("index", "find", "gallery"):
        from faceprint.search.cli import run as run_search

        return run_search(args)
    if args.cmd in ("serve", "keys"):
        from faceprint.service.cli import run as run_service

        return run_service(args)
    if args.cmd == "stream":
        from faceprint.video.cli import run as run_stream

        return run_stream(args)
    if args.cmd in ("evaluate", "tune"):
        from faceprint.evaluation.cli import run

        return run(args)
    from faceprint.pipeline import Pipeline

    if args.cmd == "analyze":
        from faceprint.analysis.cli import run_analyze

        return run_analyze(args, _emit)
    if args.cmd == "detect":
        return _detect(args)
    pipe = Pipeline(O.pipeline_config(args))
    enforce = not args.no_enforce
    if args.cmd == "verify":
        r = pipe.verify(
            args.img1,
            args.img2,
            metric=args.metric,
            threshold=args.threshold,
            faces=args.faces,
            enforce_detection=enforce,
        )
        word = "SAME PERSON" if r.verified else "DIFFERENT PEOPLE"
        _emit(
            args,
            r.to_dict(),
            f"{word}  distance {r.distance:.4f} {'<=' if r.verified else '>'} threshold {r.threshold:.4f} "
            f"({r.metric}, model {r.model}, detector {r.detector}, {r.timings['total'] * 1000:.0f} ms)",
        )
        return 0
    reps = pipe.represent(args.img, faces=args.faces, enforce_detection=enforce)
    lines = [f"{len(reps)} face(s), model {pipe.recognizer.name} ({pipe.recognizer.dim}-d)"]
    for i, r in enumerate(reps):
        x1, y1, x2, y2 = r.face.box
        head = ", ".join(f"{v:.3f}" for v in r.embedding[:6])
        lines.append(f"  face {i}: box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f})  embedding [{head}, ...]")
    _emit(args, [r.to_dict() for r in reps], "\n".join(lines))
    return 0


def _detect(args: argparse.Namespace) -> int:
    from faceprint.image import load_image
    from faceprint.pipeline import Pipeline

    img = load_image(args.img, max_pixels=args.max_pixels)
    options = {"max_side": args.max_side} if args.max_side else {}
    det_options = dict(min_face_size=args.min_face_size, score_threshold=args.score_threshold,
                       max_faces=args.max_faces, expand=args.expand, **options)  # fmt: skip
    faces = Pipeline(args.detector, detector_options=det_options, device=args.device,
                     max_pixels=args.max_pixels).detect(img)  # fmt: skip
    lines = [f"{len(faces)} face(s) in {img.source} ({img.width}x{img.height}), detector {args.detector}"]
    for i, f in enumerate(faces):
        x1, y1, x2, y2 = f.box
        lines.append(f"  face {i}: box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f})  score {f.score:.3f}")
    dense = []
    if args.landmarks:
        from faceprint.landmarkers.stage import LandmarkStage

        dense = LandmarkStage(args.device).run(img.pixels, faces, args.landmarks, img.source)
        for i, d in enumerate(dense):
            yaw, pitch, roll = d.pose or (float("nan"),) * 3
            lines.append(f"  face {i}: {len(d.points)} points ({d.model}), yaw {yaw:.0f} pitch {pitch:.0f} roll {roll:.0f}")
    if args.out:
        from faceprint.draw import draw_points, save_annotated

        pixels = draw_points(img.pixels, [d.points for d in dense]) if dense else img.pixels
        save_annotated(pixels, faces, args.out)
        lines.append(f"annotated image written to {args.out}")
    rows = [f.to_dict() for f in faces]
    for row, d in zip(rows, dense):
        row["dense_landmarks"] = {k: v for k, v in d.to_dict().items() if k != "face"}
    _emit(args, rows, "\n".join(lines))
    return 0


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _named_specs(names: Sequence[str]) -> list[Any]:
    from faceprint.models.registry import find, specs

    return [find(n) for n in names] if names else specs()


def _task_specs(task: str) -> list[Any]:
    from faceprint.models.registry import get, specs

    if task == "analysis":  # the models a default `faceprint analyze` runs
        from faceprint.analysis.analyze import DEFAULT_ACTIONS, DEFAULT_MODELS

        return [get(DEFAULT_MODELS[a], a) for a in DEFAULT_ACTIONS]
    found = specs(task)
    if not found:
        raise ConfigError(f"no model has task {task!r}; tasks: analysis, {', '.join(sorted({s.task for s in specs()}))}")
    return found


def _models(args: argparse.Namespace) -> int:
    from faceprint.errors import WeightsMissingError
    from faceprint.models import weights
    from faceprint.models.registry import required_files, specs

    if args.action == "download":
        if not args.names and not args.all and not args.task:
            raise ConfigError("name the models to download (see 'faceprint models list'), or pass --all or --task")
        rows, by_hand, missing = [], 0, []
        chosen = _task_specs(args.task) if args.task else []
        for s in chosen + (_named_specs([] if args.all else args.names) if args.all or args.names else []):
            for wf in required_files(s):
                if not (wf.url or wf.archive) and weights.find_local(wf) is None and args.all:
                    by_hand += 1  # e.g. a Google Drive page: a person has to fetch it
                    rows.append({"model": s.name, "file": wf.name, "path": None, "fetch_by_hand": wf.page})
                    continue
                bar = not args.json and sys.stderr.isatty()  # progress bars only on a terminal
                try:
                    rows.append({"model": s.name, "file": wf.name, "path": str(weights.resolve(wf, progress=bar))})
                except WeightsMissingError as exc:  # go on: name every missing file at once
                    if str(exc) not in missing:
                        missing.append(str(exc))
        if missing:
            raise WeightsMissingError(f"{len(missing)} file(s) could not be fetched:\n" + "\n".join(missing))
        text = [f"{r['model']:<18} {r['file']:<48} {r['path'] or 'fetch by hand: ' + str(r['fetch_by_hand'])}" for r in rows]
        if by_hand:
            text.append(f"{by_hand} file(s) have no direct download: put them in {weights.cache_dir()}")
        _emit(args, rows, "\n".join(text))
        return 0
    if args.action == "verify":
        rows, bad = [], 0
        for s in _named_specs(args.names):
            for wf in required_files(s):
                found = weights.check(wf)
                bad += sum(state != "ok" for _, state in found)
                states = [{"path": str(p), "state": state} for p, state in found] or [{"path": None, "state": "missing"}]
                rows += [{"model": s.name, "file": wf.name, **st} for st in states]
        text = [f"{r['model']:<18} {r['file']:<48} {r['state']}" + (f"  ({r['path']})" if r["path"] else "") for r in rows]
        missing = sum(r["state"] == "missing" for r in rows)
        summary = [f"{bad} damaged file(s)"] if bad else []
        summary += [f"{missing} file(s) missing (faceprint models download NAME)"] if missing else []
        text.append(", ".join(summary) if summary else "every file is present and matches the registry")
        _emit(args, rows, "\n".join(text))
        return 1 if bad else 0

    rows = []
    for s in specs():
        present = all(weights.find_local(wf) is not None for wf in required_files(s))
        rows.append({"name": s.name, "task": s.task, "aliases": list(s.aliases), "license": s.license,
                     "commercial_use": s.commercial_use, "present": present, "dim": getattr(s, "embedding_dim", None),
                     "input_size": s.input_size, "thresholds": getattr(s, "thresholds", {})})  # fmt: skip
    import shutil

    w_name = max(len(r["name"]) for r in rows) + 2
    w_task = max(len(r["task"]) for r in rows) + 2
    room = max(shutil.get_terminal_size((120, 24)).columns - w_name - w_task - 19, 20)  # licenses: --json in full
    text = [f"{'name':<{w_name}}{'task':<{w_task}}{'local':<7}{'commercial':<12}license"]
    text += [
        f"{r['name']:<{w_name}}{r['task']:<{w_task}}{'yes' if r['present'] else 'no':<7}"
        f"{'yes' if r['commercial_use'] else 'no':<12}{_clip(r['license'], room)}"
        for r in rows
    ]
    _emit(args, rows, "\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
