"""A face that fills its frame: when the detector finds none, the pipeline looks again on a padded copy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from faceprint.errors import ConfigError, NoFaceError
from faceprint.types import Face

from .conftest import FACES, needs_faces
from .fakes import FakeDetector, FakeRecognizer

# UTKFace chips (200x200, the face filling the frame) in which MTCNN finds no face on the image as it is
FILLING = ["1_0_2_20161219195639772", "42_0_4_20170117185618130", "60_0_3_20170117154151955", "8_1_0_20170109204516373"]


class NeedsMargin(FakeDetector):
    """FakeDetector that, like MTCNN on a pre-cropped face, finds nothing in an image of ``blind`` size."""

    def __init__(self, blind: tuple[int, int], **options: Any) -> None:
        super().__init__(**options)
        self.blind = blind

    def _detect(self, bgr: np.ndarray, min_size: float) -> list:
        if bgr.shape[:2] == self.blind:
            self.calls += 1
            return []
        return super()._detect(bgr, min_size)


def _pipeline(detector: FakeDetector, **options: Any):
    from faceprint import Pipeline

    return Pipeline(detector, FakeRecognizer(), tta="none", **options)


def test_retry_pad_is_validated() -> None:
    from faceprint.config import DEFAULT_RETRY_PAD, PipelineConfig

    assert PipelineConfig().retry_pad == DEFAULT_RETRY_PAD == 0.1
    assert PipelineConfig(retry_pad=0).retry_pad == 0.0
    for bad in (-0.1, 1.5, True, "0.1", None):
        with pytest.raises(ConfigError, match="retry_pad"):
            PipelineConfig(retry_pad=bad)


def test_no_face_is_looked_for_again_once_padded_unless_off() -> None:
    dark = np.full((120, 100, 3), 20, np.uint8)
    det = FakeDetector()
    assert _pipeline(det).detect(dark) == [] and det.calls == 2  # the image, then its padded copy
    det.calls = 0
    assert _pipeline(det).detect(dark, retry=False) == [] and det.calls == 1  # video frames
    det.calls = 0
    assert _pipeline(det, retry_pad=0).detect(dark) == [] and det.calls == 1
    with pytest.raises(NoFaceError):
        _pipeline(FakeDetector()).represent(dark)
    bright = dark.copy()
    bright[30:80, 20:70] = 200
    det = FakeDetector()
    assert len(_pipeline(det).detect(bright)) == 1 and det.calls == 1  # found at once: no second look


def test_faces_found_on_the_padded_copy_come_back_in_the_images_coordinates() -> None:
    img = np.full((120, 100, 3), 20, np.uint8)
    img[10:90, 0:60] = 200  # a "face" cut by the left edge
    det = NeedsMargin(blind=img.shape[:2])
    [face] = _pipeline(det).detect(img)
    assert det.calls == 2
    # edge pixels repeated: the padded copy's square runs into the margin, and comes back clipped to the image
    assert face.box == (0.0, 10.0, 60.0, 90.0)
    assert FakeDetector().detect(img)[0].box == face.box  # what a detector that sees it at once would say
    # the landmarks are the padded detection's, moved back by the padding (here the square was wider there)
    pad = round(0.1 * 100)  # a tenth of the shorter side
    wide = (-pad, 10.0, 60.0, 90.0)
    five = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.35, 0.75], [0.65, 0.75]])
    expected = np.array(wide[:2]) + five * np.array([wide[2] - wide[0], wide[3] - wide[1]])
    np.testing.assert_allclose(face.landmarks, expected, atol=1e-4)
    with pytest.raises(NoFaceError):
        _pipeline(NeedsMargin(blind=img.shape[:2]), retry_pad=0).represent(img)


@needs_faces
def test_pre_cropped_faces_that_fill_the_frame_are_found() -> None:
    from faceprint import Pipeline
    from faceprint.image import load_image

    paths = [FACES / "age_gender" / "images" / f"{n}.jpg.chip.jpg" for n in FILLING]
    if not all(p.is_file() for p in paths):
        pytest.skip("age_gender fixture photos not found")
    pipe, off = Pipeline(), Pipeline(retry_pad=0)
    for p in paths:
        assert off.detector.detect(load_image(p)) == []  # MTCNN alone misses each
        with pytest.raises(NoFaceError):
            off.represent(str(p))
        [rep] = pipe.represent(str(p))
        x1, y1, x2, y2 = rep.face.box
        assert 0 <= x1 < x2 <= 200 and 0 <= y1 < y2 <= 200
        assert (x2 - x1) * (y2 - y1) >= 0.5 * 200 * 200, (p.name, rep.face.box)  # the face, filling the frame
    # an image with no face still has none
    with pytest.raises(NoFaceError):
        pipe.represent(np.full((200, 200, 3), 128, np.uint8))
    rng = np.random.default_rng(0)
    with pytest.raises(NoFaceError):
        pipe.represent(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))


class InTheMargin(FakeDetector):
    """Finds nothing on the image itself; on a padded copy, the bright face and a face mostly in the margin."""

    looks = 0

    def _detect(self, bgr: np.ndarray, min_size: float) -> list:
        self.looks += 1
        if self.looks == 1:
            return []
        [face] = super()._detect(bgr, min_size)
        w = bgr.shape[1]  # the padded copy's width: 100 + 2 x 10
        ghost = Face(box=(w - 16.0, 20.0, float(w), 60.0), score=0.95, landmarks=face.landmarks, detector=self.name)
        return [face, ghost]


def test_faces_mostly_in_the_margin_are_dropped_and_the_policy_picks_after() -> None:
    img = np.full((100, 100, 3), 20, np.uint8)
    img[30:70, 30:70] = 200
    faces = _pipeline(InTheMargin()).detect(img)
    assert [f.box for f in faces] == [(30.0, 30.0, 70.0, 70.0)]  # the ghost has 6 of its 16 px inside: dropped
    det = InTheMargin()
    [rep] = _pipeline(det).represent(img, faces="largest")
    assert rep.face.box == (30.0, 30.0, 70.0, 70.0) and det.looks == 2


def test_a_large_image_is_retried_on_a_copy_at_the_detectors_working_size() -> None:
    img = np.full((900, 1200, 3), 20, np.uint8)
    img[0:600, 300:800] = 200  # cut by the top edge
    det = NeedsMargin(blind=(225, 300), max_side=300)  # blind on the image at its working size
    given = _sizes_seen(det)
    [face] = _pipeline(det).detect(img)
    # the retry's copy: shrunk to 260 x 195, then padded by 20 px a side (a tenth of 195, rounded), so that
    # it fits the detector's 300 px without a second resize; never the full image
    assert given == [(900, 1200), (195 + 2 * 20, 260 + 2 * 20)] and det.calls == 2
    assert max(given[1]) <= det.max_side
    x1, y1, x2, y2 = face.box
    assert y1 == 0.0 and abs(x1 - 300) <= 5 and abs(x2 - 800) <= 5 and abs(y2 - 600) <= 5
    assert abs(float(face.landmarks[:, 0].mean()) - 550) <= 6  # landmarks scaled back too


@pytest.mark.parametrize("limit", [258, 300, 306, 641])
@pytest.mark.parametrize("size", [(1000, 1000), (700, 2000), (2000, 333)])
def test_the_padded_copy_of_a_large_image_fits_the_detectors_working_size(limit: int, size: tuple[int, int]) -> None:
    det = FakeDetector(max_side=limit)
    given = _sizes_seen(det)
    assert _pipeline(det).detect(np.full((*size, 3), 20, np.uint8)) == []
    padded = given[1]
    assert max(padded) <= limit  # the detector need not resize it again (rounding up included)
    assert max(padded) >= limit - 3 and min(padded) > 0.1 * min(size) * limit / max(size)  # not shrunk further than needed


def test_an_image_that_fits_unshrunk_is_not_pushed_past_max_side_by_rounding() -> None:
    # 135 + 2 * 13.5 = 162 fits as it is, but 13.5 rounds up to 14: the pad is clamped to 13
    det = FakeDetector(max_side=162)
    given = _sizes_seen(det)
    assert _pipeline(det).detect(np.full((135, 135, 3), 20, np.uint8)) == []
    assert given == [(135, 135), (161, 161)]


def _sizes_seen(det: FakeDetector) -> list[tuple[int, ...]]:
    """The (height, width) of every image ``det.detect`` is given from now on."""
    given: list[tuple[int, ...]] = []
    inner = det.detect

    def spy(image, **kw):
        given.append(image.pixels.shape[:2])
        return inner(image, **kw)

    det.detect = spy
    return given
