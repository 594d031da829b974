"""MTCNN's one-face search (``detect(pick="largest")``; "main", the pipeline's default, in
tests/test_select.py): the same face as the largest of all detections, found without the big pyramid
levels when they cannot give a larger one."""

from __future__ import annotations

import numpy as np
import pytest

from faceprint.detection import create_detector
from faceprint.image import load_image

from .conftest import FACES, IDENTITIES, needs_faces

PHOTOS = ["identities/img1.jpg", "identities/img5.jpg", "identities/couple.jpg", "identities/selfie-many-people.jpg",
          "group/sample1.jpg", "group/sample4.jpg", "orl/s1/1.png"]  # fmt: skip


def _crop(path: str) -> np.ndarray:
    """An LFW-like 250x250 copy of a portrait: the face about 45% of the side."""
    import cv2

    img = load_image(FACES / path).pixels
    face = max(create_detector("mtcnn").detect(img), key=lambda f: f.area)
    cx, cy, half = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2, 1.1 * face.width
    m = np.array([[125 / half, 0, 125 - cx * 125 / half], [0, 125 / half, 125 - cy * 125 / half]])
    return cv2.warpAffine(img, m, (250, 250), flags=cv2.INTER_AREA)


class _Counting:
    """Wraps MTCNN's nets to count the pixels P-Net is run on."""

    def __init__(self, nets: object) -> None:
        self.nets, self.pixels = nets, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.nets, name)

    def pnet(self, img: np.ndarray) -> object:
        self.pixels += img.shape[1] * img.shape[2]
        return self.nets.pnet(img)


@needs_faces
def test_largest_is_the_largest_of_all_faces() -> None:
    det = create_detector("mtcnn")
    images = [load_image(FACES / p).pixels for p in PHOTOS] + [_crop("identities/img1.jpg")]
    for name, img in zip([*PHOTOS, "crop of img1"], images):
        every = det.detect(img)
        got = det.detect(img, largest=True)
        assert len(got) == 1, name
        ref = max(every, key=lambda f: f.area)
        assert np.allclose(got[0].box, ref.box, atol=1e-3) and np.allclose(got[0].landmarks, ref.landmarks, atol=1e-3), name
        assert got[0].score == pytest.approx(ref.score)


@needs_faces
def test_the_search_skips_the_fine_levels_only_when_they_cannot_change_the_pick() -> None:
    det = create_detector("mtcnn")
    det._ensure_loaded()
    counting = _Counting(det._model)
    det._model = counting

    def pixels(img: np.ndarray, pick: str | None) -> int:
        counting.pixels = 0
        det.detect(img, pick=pick)
        return counting.pixels

    for img in (load_image(IDENTITIES / "img1.jpg").pixels, _crop("identities/img1.jpg")):
        for pick in ("largest", "main"):  # a portrait: the big levels are skipped
            assert pixels(img, pick) < 0.3 * pixels(img, None), pick
    import cv2

    group = load_image(FACES / "group" / "sample1.jpg").pixels  # faces of 171-215 px: the fine levels are not run
    for pick in ("largest", "main"):
        assert pixels(group, pick) < 0.2 * pixels(group, None), pick
    tiny = cv2.resize(group, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)  # faces of ~30 px: all are
    for pick in ("largest", "main"):
        assert pixels(tiny, pick) == pixels(tiny, None), pick


@needs_faces
def test_largest_with_max_faces_and_score_threshold() -> None:
    img = load_image(IDENTITIES / "couple.jpg").pixels
    one = create_detector("mtcnn", max_faces=1)
    assert [f.box for f in one.detect(img, largest=True)] == [f.box for f in one.detect(img)]  # top score, then largest
    strict = create_detector("mtcnn", score_threshold=0.99)
    every = strict.detect(img)
    got = strict.detect(img, largest=True)
    assert len(got) == min(1, len(every))
    if every:
        assert got[0].box == max(every, key=lambda f: f.area).box


def test_largest_on_a_detector_without_its_own_search() -> None:
    blank = np.full((200, 200, 3), 127, np.uint8)
    assert create_detector("opencv_haar").detect(blank, largest=True) == []
    assert create_detector("mtcnn").detect(blank, largest=True) == []
