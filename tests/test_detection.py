"""Every offline detector on real photos: the face is found, landmarks are anatomically ordered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceprint.detection import create_detector
from faceprint.errors import ConfigError, ModelNotFoundError
from faceprint.image import load_image

from .conftest import IDENTITIES, needs_faces

OFFLINE_DETECTORS = ["mtcnn", "dlib_hog", "dlib_mmod", "opencv_haar"]


def _anatomical(lm: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    le, re, nose, ml, mr = lm
    x1, y1, x2, y2 = box
    inside = bool(((lm[:, 0] >= x1 - 2) & (lm[:, 0] <= x2 + 2) & (lm[:, 1] >= y1 - 2) & (lm[:, 1] <= y2 + 2)).all())
    order = max(le[1], re[1]) < nose[1] < min(ml[1], mr[1]) and le[0] < re[0] and ml[0] < mr[0]
    return inside and bool(order)


@needs_faces
@pytest.mark.parametrize("name", OFFLINE_DETECTORS)
def test_detector_finds_every_single_face(name: str, single_face_images: list[Path]) -> None:
    det = create_detector(name)
    missed, disordered = [], []
    for path in single_face_images:
        img = load_image(path)
        faces = det.detect(img)
        if not faces:
            missed.append(path.name)
            continue
        assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
        for f in faces:
            assert 0 <= f.box[0] < f.box[2] <= img.width and 0 <= f.box[1] < f.box[3] <= img.height
            assert f.detector == det.name
        main = max(faces, key=lambda f: f.area)
        assert main.landmarks is not None and main.landmarks.shape == (5, 2)
        if not _anatomical(main.landmarks, main.box):
            disordered.append(path.name)
    assert not missed, f"{name} found no face in {missed}"
    assert not disordered, f"{name} landmarks out of order or outside the box in {disordered}"


@needs_faces
def test_multi_face_photos() -> None:
    det = create_detector("mtcnn")
    assert len(det.detect(IDENTITIES / "couple.jpg")) == 2
    # 7 people; two are cut by the frame's edge (half a face each), which MTCNN does not claim
    assert len(det.detect(IDENTITIES / "selfie-many-people.jpg")) >= 5


@needs_faces
def test_common_options() -> None:
    path = IDENTITIES / "couple.jpg"
    assert len(create_detector("mtcnn", max_faces=1).detect(path)) == 1
    big = create_detector("mtcnn", min_face_size=700).detect(path)
    assert big == []
    base = create_detector("mtcnn").detect(path)[0]
    grown = create_detector("mtcnn", expand=0.1).detect(path)[0]
    assert grown.width > base.width and grown.height > base.height
    # the input-size policy: at full resolution the same face is found, in the same place
    full = create_detector("mtcnn", max_side=None).detect(path)
    assert len(full) == 2
    ref = sorted(base.box for base in create_detector("mtcnn").detect(path))
    got = sorted(f.box for f in full)
    for a, b in zip(ref, got):
        assert np.allclose(a, b, atol=0.08 * (a[2] - a[0]))


def test_no_face_in_blank_image() -> None:
    blank = np.full((300, 300, 3), 127, np.uint8)
    for name in OFFLINE_DETECTORS:
        assert create_detector(name).detect(blank) == []


def test_tiny_and_greyscale_images() -> None:
    tiny = np.zeros((8, 8), np.uint8)
    assert create_detector("mtcnn").detect(tiny) == []
    assert create_detector("opencv_haar").detect(tiny) == []


def test_names_aliases_and_bad_options() -> None:
    assert create_detector("MTCNN").name == "mtcnn"
    assert create_detector("hog").name == "dlib_hog"
    assert create_detector("mmod").name == "dlib_mmod"
    with pytest.raises(ModelNotFoundError, match="known: "):
        create_detector("no-such-detector")
    with pytest.raises(ConfigError, match="no option"):
        create_detector("mtcnn", upsample=2)
    with pytest.raises(ConfigError):
        create_detector("mtcnn", min_face_size=0)
