"""``faceprint index`` and ``faceprint find``. Exit codes: 0 ok, 2 bad input, 1 other failure."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add the search sub-commands to the main parser's sub-parsers."""
    p = sub.add_parser("index", help="index a folder of photos for search (identity = sub-folder name)")
    p.add_argument("folder", help="photos, one sub-folder per person (with --ray also a .txt/.csv/.parquet list)")
    p.add_argument("--db", help="gallery folder or postgresql://...#name (default: FOLDER/.faceprint/)")
    _common(p)
    from faceprint.distributed.cli import add_index_options

    add_index_options(p)
    p = sub.add_parser("find", help="who is this? the closest faces in a folder of photos or a gallery")
    p.add_argument("img")
    p.add_argument("--db", required=True, help="folder of photos, gallery folder, or postgresql://...#name")
    p.add_argument("-k", type=int, default=5, help="matches per face (default 5)")
    p.add_argument("--aggregate", choices=("min", "mean"), help="rank identities instead of single photos")
    p.add_argument("--threshold", type=float, default=None, help="verified when distance <= this")
    p.add_argument("--no-refresh", action="store_true", help="search a folder's gallery without syncing it first")
    _common(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="dlib")
    p.add_argument("--detector", default="mtcnn")
    p.add_argument("--align", default="template", choices=("template", "eye_line", "none"))
    p.add_argument("--metric", default=None, choices=("cosine", "euclidean", "euclidean_l2"))
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from faceprint.errors import ContractError

    try:
        return _index(args) if args.cmd == "index" else _find(args)
    except ContractError as exc:  # a gallery made with other settings is a wrong input, not a crash
        print(f"faceprint: error: {exc}", file=sys.stderr)
        return 2


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model, "detector": args.detector, "align": args.align, "metric": args.metric}


def _index(args: argparse.Namespace) -> int:
    if getattr(args, "ray", None):
        from faceprint.distributed.cli import run_index

        return run_index(args)
    from faceprint.search.find import index

    report = index(args.folder, args.db, progress=not args.json and sys.stderr.isatty(), **_options(args))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    lines = [report.summary()]
    lines += [f"  no face: {f}" for f in report.no_face]
    lines += [f"  error:   {f}: {why}" for f, why in report.errors]
    lines += [f"  skipped: {f}: {why}" for f, why in report.skipped]
    print("\n".join(lines))
    return 0


def _find(args: argparse.Namespace) -> int:
    from faceprint.errors import ConfigError
    from faceprint.search.find import find

    if args.k < 1:
        raise ConfigError(f"-k must be >= 1, got {args.k}")
    results = find(args.img, args.db, k=args.k, aggregate=args.aggregate, threshold=args.threshold,
                   refresh=not args.no_refresh, progress=not args.json and sys.stderr.isatty(),
                   **_options(args))  # fmt: skip
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    lines = []
    for i, fm in enumerate(results):
        box = f" box ({', '.join(f'{v:.0f}' for v in fm.face.box)})" if fm.face is not None else ""
        lines.append(f"face {i}{box}: {len(fm)} match(es)")
        for m in fm.matches:
            mark = "MATCH" if m.verified else "     "
            lines.append(f"  {mark} {m.identity:<20} {m.distance:.4f} {'<=' if m.verified else '> '} "
                         f"{m.threshold:.4f} ({m.metric})  {m.file}")  # fmt: skip
    print("\n".join(lines) if lines else "no faces")
    return 0
