"""Peak memory of decoding one input (``faceprint.load_image``), per size and input kind, side by side for
two versions of faceprint: this tree ("after") and a git commit ("before", e.g. the parent of a change).

Usage: python benchmarks/memory.py [--ref COMMIT] [--mpx 1,12,50,150] [--keep DIR]

Each measurement runs in a fresh process: peak resident memory (VmHWM) after decoding minus the peak
once faceprint, numpy and PIL are imported and the input object exists, in MB. Inputs are synthetic (a smooth
gradient plus noise): a JPEG file, a PNG file (low entropy: a small file that decodes big, like a
screenshot or scan), a palette PNG, and images over the 150 Mpx default limit given as a numpy array
and as a PIL image (the limit must hold for those too). The 150 Mpx case is just under the limit.
Run on demand; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys
import numpy as np
from PIL import Image
import faceprint.image as fi
kind, arg = sys.argv[1], sys.argv[2]
if kind == "array":
    w, h = map(int, arg.split("x"))
    item = np.zeros((h, w, 3), np.uint8)
elif kind == "pil":
    w, h = map(int, arg.split("x"))
    item = Image.new("RGB", (w, h))
else:
    item = arg
def hwm():  # this process image's own peak (ru_maxrss would include the parent's at fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm()
try:
    out = fi.load_image(item)
    result = f"{out.width}x{out.height}"
except Exception as exc:
    result = type(exc).__name__
peak = hwm()
print(json.dumps({"mb": (peak - base) / 1024, "result": result}))
"""


def _size(mpx: float) -> tuple[int, int]:
    w = int((mpx * 1e6 * 4 / 3) ** 0.5)
    return w, int(mpx * 1e6 / w)


def _make(folder: Path, mpx: float) -> dict[str, Path]:
    from PIL import Image

    w, h = _size(mpx)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = (x + y) / 2
    img[..., 1] = x
    img[..., 2] = y
    out = {}
    pil = Image.fromarray(img)
    out["JPEG"] = folder / f"{mpx}.jpg"
    pil.save(out["JPEG"], quality=85)
    out["PNG"] = folder / f"{mpx}.png"
    pil.save(out["PNG"], compress_level=1)
    out["palette PNG"] = folder / f"{mpx}_p.png"
    pil.quantize(64).save(out["palette PNG"], compress_level=1)
    return out


def _measure(tree: Path, kind: str, arg: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", _CHILD, kind, arg], capture_output=True, text=True, env=env,
                          cwd=tree, timeout=600, check=False)  # fmt: skip
    if proc.returncode:
        return {"mb": float("nan"), "result": f"crashed ({proc.returncode})"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", help="git commit to compare against (the 'before' column)")
    ap.add_argument("--mpx", default="1,12,50,150", help="sizes in megapixels (150 runs at 149.9)")
    ap.add_argument("--keep", help="write the inputs here instead of a temporary folder")
    args = ap.parse_args()
    trees = {"after": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        if args.ref:
            before = Path(tmp) / "before"
            before.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.ref], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
            trees = {"before": before, "after": ROOT}
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for mpx in (float(m) for m in args.mpx.split(",")):
            mpx = min(mpx, 149.9)
            for kind, path in _make(folder, mpx).items():
                cells = {name: _measure(tree, "path", str(path)) for name, tree in trees.items()}
                rows.append((f"{mpx:g} Mpx {kind} ({path.stat().st_size / 1e6:.1f} MB file)", cells))
                path.unlink()
        for label, kind, size in (("400 Mpx numpy array", "array", "23094x17320"),
                                  ("400 Mpx PIL image", "pil", "23094x17320")):  # fmt: skip
            rows.append((label + " (over the limit)", {n: _measure(t, kind, size) for n, t in trees.items()}))
    names = list(trees)
    print("| input | " + " | ".join(f"{n}: peak MB (result)" for n in names) + (" | after / before |" if
                                                                                 len(names) == 2 else " |"))  # fmt: skip
    print("|---|" + "---:|" * (len(names) + (len(names) == 2)))
    for label, cells in rows:
        line = f"| {label} | " + " | ".join(f"{cells[n]['mb']:.0f} ({cells[n]['result']})" for n in names)
        if len(names) == 2:
            b, a = cells["before"]["mb"], cells["after"]["mb"]
            line += f" | {a / b:.2f}" if b > 1 else " | -"
        print(line + " |")


if __name__ == "__main__":
    main()
