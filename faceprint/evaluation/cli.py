"""``faceprint evaluate`` and ``faceprint tune``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from faceprint.augment import DEFAULT_TTA
from faceprint.evaluation.pairs import read_pairs
from faceprint.evaluation.runner import Report, System, evaluate, format_table


def run(args: argparse.Namespace) -> int:
    from faceprint.models.weights import home

    pairs = read_pairs(args.pairs, args.root, folds=args.folds, ext=args.ext)
    device, tta = getattr(args, "device", "cpu"), getattr(args, "tta", None) or DEFAULT_TTA
    systems = [
        System(m.strip(), d.strip(), args.align, tta, device)
        for m in args.model.split(",")
        for d in args.detector.split(",")
    ]
    cache = Path(args.cache) if args.cache else home() / "cache"
    progress = not args.json and sys.stderr.isatty()  # progress bars only on a terminal
    if args.cmd == "evaluate":
        reports = evaluate(
            pairs,
            systems,
            metric=args.metric,
            cache_dir=cache,
            progress=progress,
            ensemble=None if args.ensemble == "none" else args.ensemble,
        )
        if args.plots:
            _plots(reports, pairs, systems[0], cache, Path(args.plots))
        if args.json:
            print(json.dumps([r.to_dict() for r in reports], indent=2))
        else:
            print(f"{len(pairs)} pairs ({sum(p.same for p in pairs)} same), {len({p.fold for p in pairs})} folds\n")
            print(format_table(reports))
            for r in reports:
                for a, b, why in r.failures[:20]:
                    print(f"  failed pair ({r.name}): {Path(a).name} / {Path(b).name}: {why}")
                if r.n_failed:
                    print(f"  {r.name}: {r.n_failed} pair(s) failed and count as wrong in 'acc'")
            if args.plots:
                print(f"\nplots written to {args.plots}")
        return 0
    return _tune(args, pairs, systems, cache, progress)


def _tune(args: argparse.Namespace, pairs: list, systems: list[System], cache: Path, progress: bool) -> int:
    from faceprint.thresholds import write_settings

    out: dict[str, dict] = {}
    lines = []
    for metric in [m.strip() for m in args.metric.split(",")]:
        for r in evaluate(pairs, systems, metric=metric, cache_dir=cache, progress=progress, ensemble=None):
            entry = out.setdefault(r.model, {"thresholds": {}, "calibration": {}})
            entry["thresholds"][metric] = r.tuned[args.method]
            entry["calibration"][metric] = list(r.calibration or (0.0, 0.0))
            t = r.tuned
            current = f"{r.threshold:.4f}" if r.threshold_source == "model" else "none"
            lines.append(
                f"{r.name:<24}{metric:<13} infogain {t['infogain']:.4f}  max-accuracy {t['accuracy']:.4f}  "
                f"FAR<=1e-3 {t['far_1e-3']:.4f}  EER {t['eer']:.4f}  (built-in {current})"
            )
    if args.write is not None:
        path = write_settings(out, args.write or None)
        lines.append(f"\nwrote {args.method} thresholds and calibrations to {path}")
    print(json.dumps(out, indent=2) if args.json else "\n".join(lines))
    return 0


def _plots(reports: list[Report], pairs: list, first: System, cache: Path, folder: Path) -> None:
    from faceprint.evaluation import plots
    from faceprint.evaluation.cache import EmbeddingCache

    curves = {}
    for r in reports:
        safe = "".join(c if c.isalnum() or c in "-_+" else "_" for c in r.name)[:60]
        plots.distance_histogram(
            r.distances, r.same, r.threshold, folder / f"distances_{safe}.png", title=f"{r.name} ({r.metric})"
        )
        curves[r.name] = (r.distances, r.same)
    plots.roc_curve(curves, folder / "roc.png")
    # the barcode picture: the first genuine pair both of whose faces embedded
    store = EmbeddingCache(first.cache_file(cache))
    for p in pairs:
        a, b = store.get(p.img1), store.get(p.img2)
        if p.same and not isinstance(a, str) and not isinstance(b, str) and a is not None and b is not None:
            plots.barcode(a, b, folder / "barcode.png", labels=(p.img1.name, p.img2.name))
            break
