"""Every offline detector on real photos: the face is found, landmarks are anatomically ordered."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceprint.detection import Detector, create_detector
from faceprint.errors import ConfigError, ModelNotFoundError
from faceprint.image import load_image
from faceprint.models.registry import specs
from faceprint.pipeline import Pipeline

from .conftest import FACES, IDENTITIES, SHARED_WEIGHTS, needs_faces, read_csv

OFFLINE_DETECTORS = ["mtcnn", "dlib_hog", "dlib_mmod", "opencv_haar"]
TORCH_DETECTORS = {"mtcnn_torch", "retinaface_torch"}
ALL_DETECTORS = [s.name for s in specs("detector")]


def _make(name: str, **options: object) -> Detector:
    if name in TORCH_DETECTORS:
        pytest.importorskip("torch", reason=f"{name} runs on PyTorch: pip install 'faceprint[torch]'")
    if name not in OFFLINE_DETECTORS and not SHARED_WEIGHTS.is_dir():
        pytest.skip(f"{name}'s weights are not in a registry package; shared weights not found at {SHARED_WEIGHTS}")
    return create_detector(name, **options)


def _anatomical(lm: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    le, re, nose, ml, mr = lm
    x1, y1, x2, y2 = box
    inside = bool(((lm[:, 0] >= x1 - 2) & (lm[:, 0] <= x2 + 2) & (lm[:, 1] >= y1 - 2) & (lm[:, 1] <= y2 + 2)).all())
    order = max(le[1], re[1]) < nose[1] < min(ml[1], mr[1]) and le[0] < re[0] and ml[0] < mr[0]
    return inside and bool(order)


@needs_faces
@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_detector_finds_every_single_face(name: str, single_face_images: list[Path]) -> None:
    det = _make(name)
    detect = Pipeline(det).detect  # box-only detectors' landmarks come from the pipeline's 5-point stage
    missed, disordered = [], []
    for path in single_face_images:
        img = load_image(path)
        faces = detect(img)
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


GROUP = FACES / "group"
# BlazeFace short-range letterboxes the whole photo into 128 px, where faces 10% of a 1920 px
# group photo are ~13 px: the model is for faces near the camera (MediaPipe: within ~2 m).
NOT_FOR_GROUPS = {"mediapipe": "short-range model: faces must fill much of the frame"}
# Measured on the 22 faces (docs/detectors.md): sample2 holds a profile and a face turned down, which the
# frontal detectors miss; HOG, MMOD and Haar also miss a tilted face or two.
MAX_MISSED = {"dlib_hog": 3, "dlib_mmod": 3, "opencv_haar": 4}
# Viola-Jones fires on textured backgrounds (9 extra boxes on sample6); HOG once on sample1.
MAX_EXTRA = {"opencv_haar": 10, "dlib_hog": 1}


@pytest.mark.skipif(not GROUP.is_dir(), reason=f"group photos not found at {GROUP}")
@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_group_photos(name: str) -> None:
    if name in NOT_FOR_GROUPS:
        pytest.skip(NOT_FOR_GROUPS[name])
    det = _make(name)
    found, labelled, extra, over = 0, 0, 0, []
    for row in read_csv(GROUP / "labels.csv"):
        img = load_image(GROUP / row["file"])
        faces = det.detect(img)
        n = int(row["face_count"])
        for f in faces:
            assert 0 <= f.box[0] < f.box[2] <= img.width and 0 <= f.box[1] < f.box[3] <= img.height
        found += min(len(faces), n)
        labelled += n
        if len(faces) > n:
            extra += len(faces) - n
            over.append(f"{row['file']}: {len(faces)} found, {n} there")
    assert found >= labelled - MAX_MISSED.get(name, 2), f"{name} found {found} of {labelled} faces"
    assert extra <= MAX_EXTRA.get(name, 0), f"{name} reports more faces than there are: {over}"


@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_tiny_greyscale_and_huge_inputs(name: str) -> None:
    det = _make(name)
    assert det.detect(np.zeros((8, 8), np.uint8)) == []
    assert det.detect(np.full((64, 64, 3), 90, np.uint8)) == []
    if not IDENTITIES.is_dir():
        return
    img = load_image(IDENTITIES / "img1.jpg").pixels
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    assert det.detect(grey), f"{name} found no face in the greyscale photo"
    # 8000 px on the long side: the input-size policy must keep the face findable and the boxes in place
    s = 8000 / max(img.shape[:2])
    huge = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_LINEAR)
    big, ref = det.detect(huge), det.detect(img)
    assert big and ref, f"{name} lost the face at 8000 px"
    a, b = np.asarray(ref[0].box) * s, np.asarray(big[0].box)
    assert np.allclose(a, b, atol=0.15 * (a[2] - a[0])), f"{name}: {a} at 8000 px became {b}"


@needs_faces
def test_batches_equal_single_calls() -> None:
    det = create_detector("mtcnn")
    paths = [IDENTITIES / "img1.jpg", IDENTITIES / "couple.jpg", np.zeros((50, 50, 3), np.uint8)]
    batch = det.detect_batch(paths)
    assert len(batch) == 3 and batch[2] == []
    for got, p in zip(batch[:2], paths[:2]):
        assert [f.box for f in got] == [f.box for f in det.detect(p)]
    # a detector object is accepted wherever a name is
    from faceprint import Pipeline

    assert create_detector(det) is det and Pipeline(detector=det).detector is det


@needs_faces
@pytest.mark.parametrize(
    ("onnx_name", "torch_name", "tol"),
    # MTCNN: the same published weights on two runtimes; RetinaFace: the same network, two trainings
    [("mtcnn", "mtcnn_torch", 0.01), ("retinaface", "retinaface_torch", 0.08)],
)
def test_onnx_and_torch_backends_agree(onnx_name: str, torch_name: str, tol: float) -> None:
    a, b = _make(onnx_name), _make(torch_name)
    for name in ("img1.jpg", "img5.jpg", "couple.jpg"):
        fa, fb = a.detect(IDENTITIES / name), b.detect(IDENTITIES / name)
        assert len(fa) == len(fb), name
        for x, y in zip(sorted(fa, key=lambda f: f.box), sorted(fb, key=lambda f: f.box)):
            atol = tol * x.width
            assert np.allclose(x.box, y.box, atol=atol) and np.allclose(x.landmarks, y.landmarks, atol=atol), name


@needs_faces
@pytest.mark.parametrize("name", ALL_DETECTORS)
def test_one_detector_shared_by_threads(name: str) -> None:
    """represent_stream runs one detector from several threads: it must neither crash nor mix up results."""
    from concurrent.futures import ThreadPoolExecutor

    det = _make(name, max_side=480)
    imgs = [load_image(IDENTITIES / n).pixels for n in ("img1.jpg", "couple.jpg", "img5.jpg")] * 2
    want = [[f.box for f in det.detect(i)] for i in imgs]
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda i: [f.box for f in det.detect(i)], imgs))
    assert got == want
