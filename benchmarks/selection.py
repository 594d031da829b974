"""Which face does each one-face policy pick? LFW-style crops of multi-face photos, and every fixture set.

Usage: python benchmarks/selection.py [--faces ../shared/faces] [--detectors mtcnn,dlib_hog,opencv_haar]

- **Crops**: around every face (score >= 0.9) of the multi-face photos (group/, identities/couple.jpg and
  selfie-many-people.jpg), a square of 2.2x, 2.6x and 3.0x the face's box about its centre, resized to
  250x250 and JPEG-encoded, as LFW's images were made; the subject is the face at the centre. A pick is
  wrong when its centre is further from the crop's than half the subject's box.
- **Sets**: on every image of the fixture sets with two faces or more, how often "main" picks another
  face than "largest", and that face's side against the largest's (portraits should not move).

Also printed: the side of each wrong "largest" pick against the subject's, and how many picks the
half-side guard of "main" changes (the centre rule alone against the rule with it).

Nothing here is a test; docs/accuracy.md quotes the figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from faceprint.detection import create_detector
from faceprint.detection.select import PICKS, main_score, pick
from faceprint.image import load_image

FRAMINGS = (2.2, 2.6, 3.0)
MULTI = ["identities/couple.jpg", "identities/selfie-many-people.jpg"]
SETS = ("identities", "group", "antispoof", "age_gender", "orl")


def crops(root: Path, detector) -> list[tuple[bytes, float]]:
    """(JPEG of an LFW-style crop, its subject's box side in the crop) around every confident face."""
    files = sorted((root / "group").glob("*.jpg")) + [root / m for m in MULTI]
    out = []
    for p in files:
        img = load_image(p).pixels
        for f in detector.detect(img):
            if f.score < 0.9:
                continue
            cx, cy, s = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2, max(f.width, f.height)
            for mult in FRAMINGS:
                k = 250 / (s * mult)
                m = np.array([[k, 0, 125 - cx * k], [0, k, 125 - cy * k]])
                crop = cv2.warpAffine(img, m, (250, 250), flags=cv2.INTER_AREA)
                out.append((cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes(), 250 / mult))
    return out


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", default=str(here.parent / "shared" / "faces"))
    ap.add_argument("--detectors", default="mtcnn,dlib_hog,opencv_haar")
    args = ap.parse_args()
    root = Path(args.faces)
    print(f"{'detector':<13}{'crops':>7}" + "".join(f"{'wrong: ' + p:>16}" for p in PICKS)
          + f"{'no face':>9}  guard changed  wrong 'largest' picks: side / subject's")  # fmt: skip
    for name in args.detectors.split(","):
        det = create_detector(name)
        items = crops(root, det)
        wrong = dict.fromkeys(PICKS, 0)
        missed = guarded = 0
        ratios = []
        for data, side in items:
            faces = det.detect(data)
            if not faces:
                missed += 1
                continue
            guarded += max(faces, key=lambda f: main_score(f, 250, 250)) is not pick("main", faces, 250, 250)
            for policy in PICKS:
                g = pick(policy, faces, 250, 250)
                if np.hypot((g.box[0] + g.box[2]) / 2 - 125, (g.box[1] + g.box[3]) / 2 - 125) > side / 2:
                    wrong[policy] += 1
                    ratios += [f"{np.sqrt(g.area) / side:.2f}"] if policy == "largest" else []
        print(f"{name:<13}{len(items):7d}" + "".join(f"{wrong[p]:16d}" for p in PICKS)
              + f"{missed:9d}{guarded:15d}  {' '.join(ratios)}")  # fmt: skip
    det = create_detector(args.detectors.split(",")[0])
    print(f"\n{det.name}: images with 2+ faces where 'main' picks another face than 'largest' "
          "(its side / the largest's)")  # fmt: skip
    for sub in SETS:
        files = sorted(q for q in (root / sub).rglob("*") if q.suffix.lower() in (".jpg", ".jpeg", ".png"))
        several = 0
        moved = []
        for q in files:
            img = load_image(q)
            faces = det.detect(img.pixels)
            if len(faces) < 2:
                continue
            several += 1
            big, main_face = pick("largest", faces, img.width, img.height), pick("main", faces, img.width, img.height)
            if main_face is not big:
                moved.append(f"{q.name} {np.sqrt(main_face.area / big.area):.2f}")
        print(f"  {sub:<11} {len(files):4d} images, {several:3d} with 2+ faces, moved: {len(moved)} {moved}")


if __name__ == "__main__":
    main()
