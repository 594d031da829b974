"""``faceprint index``, ``faceprint find`` and ``faceprint gallery check``. Exit codes: 0 ok, 2 bad input,
1 other failure (a damaged or unreachable gallery among them)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EPILOG = """exit codes: 0 done, 2 bad input (unreadable image, no face, empty gallery, wrong settings for a
gallery), 1 any other failure (damaged or unreachable gallery, missing weights), 130 interrupted (what
was saved is kept).
environment: FACEPRINT_HOME (galleries of photo folders, weights; default ~/.faceprint),
FACEPRINT_WEIGHTS_PATH (folders searched for weight files), FACEPRINT_OFFLINE=1 (never download),
PGPASSWORD or ~/.pgpass (PostgreSQL passwords: keep them out of --db URLs)."""


def add_parsers(sub: Any) -> None:
    """Add the search sub-commands to the main parser's sub-parsers."""
    kw = {"epilog": EPILOG, "formatter_class": argparse.RawDescriptionHelpFormatter}
    p = sub.add_parser("index", help="index a folder of photos for search (identity = sub-folder name)", **kw)
    p.add_argument("folder", help="photos, one sub-folder per person (with --ray also a .txt/.csv/.parquet list)")
    p.add_argument("--db", help="gallery folder or postgresql://...#name (default: a gallery for FOLDER under "
                                "$FACEPRINT_HOME/galleries; the photo folder is never written to)")  # fmt: skip
    p.add_argument("--rebuild", action="store_true",
                   help="re-embed every photo and compact the gallery: the fix for a damaged gallery")  # fmt: skip
    _common(p)
    from faceprint.distributed.cli import add_index_options

    add_index_options(p)
    p = sub.add_parser("find", help="who is this? the closest faces in a folder of photos or a gallery", **kw)
    p.add_argument("img", help="the query photo (path)")
    p.add_argument("--db", required=True, help="folder of photos, gallery folder, or postgresql://...#name")
    p.add_argument("-k", type=int, default=5, help="matches per face (default 5)")
    p.add_argument("--aggregate", choices=("min", "mean"), help="rank identities instead of single photos")
    p.add_argument("--threshold", type=_threshold, default=None, help="verified when distance <= this (>= 0)")
    p.add_argument("--no-refresh", action="store_true", help="search a folder's gallery without syncing it first")
    _common(p)
    p = sub.add_parser("gallery", help="gallery maintenance: check every stored vector for damage", **kw)
    p.add_argument("action", choices=("check",), help="check: verify checksums, finite values and unit length")
    p.add_argument("--db", required=True, help="gallery folder, folder of photos, or postgresql://...#name")
    _common(p, embeds=False)


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):  # NaN fails every comparison
        raise argparse.ArgumentTypeError(f"a distance threshold must be a finite number >= 0, not {text!r}")
    return value


def _common(p: argparse.ArgumentParser, *, embeds: bool = True) -> None:
    from faceprint import cli_options as O

    O.add_model(p)
    O.add_detector(p)
    O.add_align(p)
    O.add_metric(p)
    if embeds:
        O.add_device(p)
        O.add_tta(p, gallery=True)
    O.add_max_pixels(p, default=None)
    O.add_json(p)


def run(args: argparse.Namespace) -> int:
    from faceprint.errors import ContractError, EmptyGalleryError

    try:
        if args.cmd == "gallery":
            return _check(args)
        return _index(args) if args.cmd == "index" else _find(args)
    except (ContractError, EmptyGalleryError) as exc:  # wrong settings or nothing to search: a wrong input
        print(f"faceprint: error: {exc}", file=sys.stderr)
        return 2


def _options(args: argparse.Namespace) -> dict[str, Any]:
    opts = {"model": args.model, "detector": args.detector, "align": args.align, "metric": args.metric}
    if getattr(args, "device", "cpu") != "cpu":
        opts["device"] = args.device
    if getattr(args, "tta", None):
        opts["tta"] = args.tta
    return {**opts, "max_pixels": args.max_pixels} if args.max_pixels else opts


def _index(args: argparse.Namespace) -> int:
    if getattr(args, "ray", None):
        from faceprint.distributed.cli import run_index

        return run_index(args)
    from faceprint.search.finder import gallery_location, index

    report = index(args.folder, args.db, progress=not args.json and sys.stderr.isatty(), rebuild=args.rebuild,
                   **_options(args))  # fmt: skip
    where = gallery_location(args.folder, args.db, **_options(args))
    if args.json:
        print(json.dumps({**report.to_dict(), "gallery": where}, indent=2))
        return 0
    lines = [report.summary() + (" (rebuilt)" if args.rebuild else ""), f"  gallery: {where}"]
    lines += [f"  no face: {f}" for f in report.no_face]
    lines += [f"  error:   {f}: {why}" for f, why in report.errors]
    lines += [f"  skipped: {f}: {why}" for f, why in report.skipped]
    print("\n".join(lines))
    return 0


def _check(args: argparse.Namespace) -> int:
    from faceprint.search.backends import store_kind
    from faceprint.search.finder import open_gallery

    server = store_kind(args.db) in ("pgvector", "milvus")  # the file-based stores open unverified for the check
    g, _ = open_gallery(args.db, **_options(args), **({} if server else {"verify": False}))
    with g:
        report = g.check()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        lines = [f"{report['path']}: {report['rows']} vector row(s) checked"]
        if report.get("rows_without_checksum"):
            lines.append(f"  {report['rows_without_checksum']} row(s) stored without checksums by an older version "
                         "(faceprint index FOLDER --rebuild adds them)")  # fmt: skip
        lines += [f"  DAMAGED: {p}" for p in report["problems"]]
        lines.append(f"  fix: {report['fix']}" if report["problems"] else "  ok: no damage found")
        print("\n".join(lines))
    return 1 if report["problems"] else 0


def _find(args: argparse.Namespace) -> int:
    from faceprint.errors import ConfigError
    from faceprint.search.finder import find

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
