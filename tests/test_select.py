"""The one-face policies (faceprint.detection.select): "main", the default, and "largest"."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceprint.detection import create_detector
from faceprint.detection.select import main_score, pick, unseen_bound
from faceprint.errors import ConfigError
from faceprint.image import load_image
from faceprint.types import Face

from .conftest import IDENTITIES, needs_faces


def _face(cx: float, cy: float, side: float, score: float = 0.99) -> Face:
    return Face(box=(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), score=score, detector="test")


def test_main_prefers_the_central_face_to_a_larger_one_at_the_edge() -> None:
    subject, neighbour = _face(125, 125, 100), _face(230, 120, 110)  # an LFW crop: a neighbour cut by the frame
    assert pick("largest", [subject, neighbour], 250, 250) is neighbour
    assert pick("main", [subject, neighbour], 250, 250) is subject
    assert pick("main", [neighbour, subject], 250, 250) is subject  # order does not matter


def test_main_never_takes_a_much_smaller_face_for_its_place() -> None:
    # a portrait framed off-centre (rule of thirds) with a small face behind, in the middle
    subject, bystander = _face(1000, 700, 400), _face(1500, 1000, 190)
    assert main_score(bystander, 3000, 2000) > main_score(subject, 3000, 2000)  # the centre rule alone picks it
    assert pick("main", [subject, bystander], 3000, 2000) is subject  # under half the side: not a candidate
    rival = _face(1500, 1000, 210)  # over half the side: the centre decides
    assert pick("main", [subject, rival], 3000, 2000) is rival


def test_main_does_not_depend_on_the_resolution() -> None:
    faces = [_face(125, 125, 80), _face(220, 90, 95), _face(40, 200, 60)]
    for k in (0.5, 3.0, 17.0):
        scaled = [f.scaled(k) for f in faces]
        assert pick("main", scaled, 250 * k, 250 * k) is scaled[faces.index(pick("main", faces, 250, 250))]


def test_pick_errors() -> None:
    with pytest.raises(ValueError, match="no face"):
        pick("main", [], 10, 10)
    with pytest.raises(ConfigError, match="unknown pick policy"):
        pick("biggest", [_face(5, 5, 4)], 10, 10)
    blank = np.zeros((50, 50, 3), np.uint8)
    with pytest.raises(ConfigError, match="unknown pick policy"):
        create_detector("opencv_haar").detect(blank, pick="biggest")
    with pytest.raises(ConfigError, match="give one"):
        create_detector("opencv_haar").detect(blank, largest=True, pick="main")


def test_unseen_bound_is_the_side_under_which_faces_not_found_yet_cannot_change_the_pick() -> None:
    centre = [_face(125, 125, 100)]
    assert unseen_bound("largest", centre, 250, 250) == pytest.approx(100)
    tall = [Face(box=(0, 0, 100, 144), score=0.9, detector="test")]  # area 120², so any face under 120x120 is smaller
    assert unseen_bound("largest", tall, 250, 250) == pytest.approx(120)
    assert unseen_bound("main", centre, 250, 250) == pytest.approx(100)  # score = area: nothing smaller beats it
    assert unseen_bound("main", [], 250, 250) == 0 and unseen_bound("largest", [], 250, 250) == 0
    edge = [_face(200, 125, 100)]  # off-centre (score < 0): a smaller, central face could still win ...
    assert unseen_bound("largest", edge, 250, 250) == pytest.approx(100)
    assert unseen_bound("main", edge, 250, 250) == pytest.approx(50)  # ... unless under half the side
    near = [_face(125 + 4000**0.5, 125, 100)]  # score 10000 - 2 * 4000 = 2000: a central 80 px face would win
    assert main_score(near[0], 250, 250) == pytest.approx(2000)
    assert unseen_bound("main", near, 250, 250) == pytest.approx(50)  # max(half side, sqrt(2000) = 44.7)
    near = [_face(125 + 1000**0.5, 125, 100)]  # score 8000: a face under 89.4 px cannot beat it
    assert unseen_bound("main", near, 250, 250) == pytest.approx(8000**0.5)
    with pytest.raises(ConfigError):
        unseen_bound("best", centre, 250, 250)


def test_property_no_face_under_the_bound_changes_the_pick() -> None:
    """No face with both sides under :func:`unseen_bound`, anywhere, changes the pick."""
    hypothesis = pytest.importorskip("hypothesis", reason="hypothesis not installed (pip install hypothesis)")
    from hypothesis import strategies as st

    found = st.tuples(st.floats(0, 400), st.floats(0, 300), st.floats(1, 200), st.floats(0.7, 1.4))
    later = st.tuples(st.floats(0, 400), st.floats(0, 300), st.floats(0.3, 0.9999), st.floats(0.3, 0.9999))

    @hypothesis.settings(max_examples=500, deadline=None, database=None)
    @hypothesis.given(st.lists(found, min_size=1, max_size=4), st.lists(later, min_size=1, max_size=3),
                      st.sampled_from(["main", "largest"]))  # fmt: skip
    def check(seen_spec: list[tuple], later_spec: list[tuple], policy: str) -> None:
        seen = [Face(box=(x, y, x + s, y + s * a), score=0.9, detector="test") for x, y, s, a in seen_spec]
        bound = unseen_bound(policy, seen, 400, 300)
        more = [Face(box=(x, y, x + fw * bound, y + fh * bound), score=0.9, detector="test")
                for x, y, fw, fh in later_spec]  # fmt: skip
        assert pick(policy, seen + more, 400, 300) is pick(policy, seen, 400, 300)

    check()


def _lfw_crop(img: np.ndarray, face: Face, mult: float) -> np.ndarray:
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    k = 250 / (mult * max(face.width, face.height))
    m = np.array([[k, 0, 125 - cx * k], [0, k, 125 - cy * k]])
    return cv2.warpAffine(img, m, (250, 250), flags=cv2.INTER_AREA)


@needs_faces
def test_the_default_pipeline_keeps_the_subject_of_an_lfw_style_crop() -> None:
    """Crops as LFW's were made (2.2x the face's box, 250x250) of a crowded selfie: in some, a neighbour cut by
    the frame is larger than the subject; the default policy keeps the subject, "largest" does not."""
    from faceprint.pipeline import Pipeline

    pipe = Pipeline()
    img = load_image(IDENTITIES / "selfie-many-people.jpg").pixels
    crowded = 0
    for face in [f for f in pipe.detect(img) if f.score >= 0.9]:
        crop = _lfw_crop(img, face, 2.2)
        _, (main,), _ = pipe.prepare_faces(crop)  # the default policy, as represent() and verify() use it
        centre = np.array([(main.box[0] + main.box[2]) / 2, (main.box[1] + main.box[3]) / 2])
        assert np.hypot(*(centre - 125)) < 250 / 2.2 / 2, face.box  # within half the subject's box
        _, (big,), _ = pipe.prepare_faces(crop, faces="largest")
        crowded += big.box != main.box
    assert crowded >= 1  # the case this policy is for occurs in this photo (two of its seven faces)


@needs_faces
@pytest.mark.parametrize("expand", [0.0, 0.5])
def test_mtcnn_finds_the_main_face_as_the_full_search_would(expand: float) -> None:
    det = create_detector("mtcnn", expand=expand)  # expand grows the boxes the pick sees, not the levels' faces
    for name in ("couple.jpg", "selfie-many-people.jpg", "img1.jpg"):
        img = load_image(IDENTITIES / name).pixels
        every = det.detect(img)
        crops = [_lfw_crop(img, f, m) for f in every if f.score >= 0.9 for m in (2.2, 3.0)]
        for i, im in enumerate([img, *crops]):
            for policy in ("main", "largest"):
                (got,) = det.detect(im, pick=policy)
                ref = pick(policy, det.detect(im), im.shape[1], im.shape[0])
                assert np.allclose(got.box, ref.box, atol=1e-3), (name, i, policy)
