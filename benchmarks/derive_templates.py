"""Derive the 5 standard landmarks' mean position in dlib's unit face frame.

Usage: python benchmarks/derive_templates.py DIR_OF_FACE_PHOTOS
Prints the (5, 2) array used as ``alignment._FIVE_IN_DLIB_UNIT``: MTCNN's landmarks of every
detected face, mapped into dlib's unit frame by the similarity that takes the face's dlib
5-point shape onto dlib's template, averaged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from faceprint.alignment import similarity_transform
from faceprint.pipeline import Pipeline
from faceprint.registry import DLIB5_UNIT


def main(folder: str) -> None:
    pipe = Pipeline("mtcnn")
    pts = []
    for path in sorted(Path(folder).glob("*.jpg")):
        faces = pipe.detect(path)
        if not faces:
            continue
        from faceprint.image import load_image

        img = load_image(path)
        shapes = pipe._predictor().predict(img.pixels, [f.box for f in faces])
        for f, s in zip(faces, shapes):
            m = similarity_transform(s, np.asarray(DLIB5_UNIT))
            pts.append(np.hstack([f.landmarks, np.ones((5, 1))]) @ m.T)
    arr = np.array(pts)
    print(f"{len(arr)} faces")
    print("mean:\n", np.round(arr.mean(0), 4))
    print("median:\n", np.round(np.median(arr, 0), 4))
    print("std:\n", np.round(arr.std(0), 4))


if __name__ == "__main__":
    main(sys.argv[1])
