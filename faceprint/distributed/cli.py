"""``faceprint index PHOTOS --db TARGET --ray [auto|ADDRESS]``: the options and the run (argparse only at import)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from faceprint.config import DEFAULT_FACES, FACE_POLICIES


def add_index_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scale out on Ray (pip install 'faceprint[ray]')")
    g.add_argument("--ray", nargs="?", const="auto", default=None, metavar="auto|local|ADDRESS",
                   help="index on a Ray cluster: auto (the one 'ray start' made, else local), local, or host:port")
    g.add_argument("--embed-actors", type=int, default=1, help="recognizer actors (default 1)")
    g.add_argument("--gpus-per-actor", type=float, default=0.0, help="GPUs per recognizer actor (default 0)")
    g.add_argument("--batch-size", type=int, default=32, help="faces per embedding batch (default 32)")
    g.add_argument("--faces", default=DEFAULT_FACES, choices=FACE_POLICIES, help="faces kept per image")
    g.add_argument("--identity-column", default=None, help="list column holding the identity (default: identity)")
    g.add_argument("--write-images", type=int, default=256, help="finished images per store write (default 256)")
    g.add_argument("--report", default=None, help="failure report JSON (default: DB/index-report.json)")  # fmt: skip


def run_index(args: argparse.Namespace) -> int:
    import logging

    from faceprint.distributed import index
    from faceprint.errors import ConfigError
    from faceprint.image import DEFAULT_MAX_PIXELS

    if getattr(args, "rebuild", False):  # a rebuild clears the gallery first: the local indexer's job
        raise ConfigError("--rebuild is not done on Ray: run `faceprint index FOLDER --db TARGET --rebuild` without "
                          "--ray (or delete the damaged gallery), then index with --ray again")  # fmt: skip

    with contextlib.suppress(ImportError):  # Ray sets up its loggers when ray.data is imported: quieten
        import ray.data  # noqa: F401         # them after that (without Ray, index() says what to install)
    for name in ("ray", "ray.data"):  # this command prints its own progress line
        logging.getLogger(name).setLevel(logging.WARNING)

    db = args.db
    if not db and Path(args.folder).is_dir():  # as the local index does: FOLDER/.faceprint/<model>-<contract>
        from faceprint.augment import DEFAULT_TTA
        from faceprint.search.contract import EmbeddingContract
        from faceprint.search.finder import folder_gallery_path

        contract = EmbeddingContract.for_model(args.model, detector=args.detector, align=args.align, metric=args.metric,
                                               tta=getattr(args, "tta", None) or DEFAULT_TTA)  # fmt: skip
        db = str(folder_gallery_path(args.folder, contract))
    if not db:
        raise ConfigError("--ray with a list of images needs --db TARGET: a folder, postgresql://...#name, "
                          "milvus:FILE#name or parquet:DIR")  # fmt: skip

    def show(p: Any) -> None:
        fails = ", ".join(f"{k} {v}" for k, v in sorted(p.failures.items())) or "none"
        print(f"\r{p.done}/{p.total} images  {p.images_per_s:.2f} img/s  failures: {fails}   ",
              end="", file=sys.stderr, flush=True)  # fmt: skip

    if getattr(args, "device", "cpu") == "cuda" and not args.gpus_per_actor:
        raise ConfigError("with --ray the recognizer runs where --gpus-per-actor says: pass --gpus-per-actor 1 "
                          "for the GPU (the detector actors run on the CPU)")  # fmt: skip
    report = index(args.folder, db, address=args.ray, model=args.model, detector=args.detector, align=args.align,
                   metric=args.metric, faces=args.faces, tta=getattr(args, "tta", None) or "auto", identity_column=args.identity_column,
                   max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
                   embed_actors=args.embed_actors, num_gpus=args.gpus_per_actor, batch_size=args.batch_size,
                   write_images=args.write_images, report=args.report, progress=False if args.json else show)  # fmt: skip
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(file=sys.stderr)
    lines = [report.summary()]
    lines += [f"  {why}: {n}" for why, n in sorted(report.failures_by_reason.items())]
    lines += [f"  error: {f}: {why}" for f, why in report.errors[:20]]
    if len(report.errors) > 20:
        lines.append(f"  ... {len(report.errors) - 20} more")
    if report.report_file:
        lines.append(f"failure report: {report.report_file}")
    print("\n".join(lines))
    return 0
