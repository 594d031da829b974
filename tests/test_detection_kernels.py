"""The detectors' shared kernels: OpenCV's greedy NMS against the numpy reference, MTCNN's pyramid edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from faceprint.detection.base import greedy_nms, nms

from .conftest import IDENTITIES, needs_faces


def test_nms_matches_the_reference_loop_on_random_boxes_with_ties() -> None:
    rng = np.random.default_rng(7)
    for trial in range(600):
        n = int(rng.integers(1, 60))
        xy = rng.uniform(0, 200, (n, 2))
        boxes = np.column_stack([xy, xy + rng.uniform(3, 80, (n, 2))])
        if trial % 2:
            boxes = np.fix(boxes)  # MTCNN's whole-pixel boxes
        scores = rng.uniform(0.01, 1, n)
        if trial % 3 == 0:
            scores = np.round(scores, 1) + 0.01  # ties: the first of equal scores is kept first
        for iou in (0.3, 0.5, 0.7):
            assert np.array_equal(nms(boxes, scores, iou), greedy_nms(boxes, scores, iou)), (trial, iou)


def test_nms_falls_back_for_min_mode_and_non_positive_scores() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 4, 4]], float)
    assert list(nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5, mode="min")) == [0]  # overlap / smaller area: 0.83 and 1
    scores = np.array([0.0, -1.0, 0.5])
    assert np.array_equal(nms(boxes, scores, 0.5), greedy_nms(boxes, scores, 0.5))
    assert nms(np.empty((0, 4)), np.empty(0), 0.5).shape == (0,)



def test_nms_scores_beyond_float32_precision_take_the_reference_path() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [40, 40, 50, 50]], float)
    scores = np.array([0.9, 0.9 + 1e-12, 0.5])  # equal in float32: OpenCV would see a tie
    assert list(nms(boxes, scores, 0.5)) == list(greedy_nms(boxes, scores, 0.5)) == [1, 2]


def test_mtcnn_largest_on_a_strip_with_no_pyramid_level() -> None:
    from faceprint.detection import create_detector

    strip = np.zeros((30, 4000, 3), np.uint8)  # 1024 x 8 once downscaled: thinner than P-Net's 12 pixels
    det = create_detector("mtcnn", min_face_size=5, max_side=1024)
    assert det.detect(strip, largest=True) == [] and det.detect(strip) == []


@needs_faces
def test_mtcnn_small_levels_on_the_one_thread_session_give_the_same_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    import faceprint.detection.mtcnn_nets as nets_mod
    from faceprint.detection import create_detector

    det = create_detector("mtcnn")
    det.detect(IDENTITIES / "img1.jpg")
    nets = det._model
    assert nets._small_pnet is not nets.sessions[0]  # two threads by default: a second, one-thread session

    class Counted:
        def __init__(self, sess: object) -> None:
            self.sess, self.sizes = sess, []

        def run(self, names: object, feed: dict) -> list:
            self.sizes.append(next(iter(feed.values())).shape)
            return self.sess.run(names, feed)

    small = Counted(nets._small_pnet)
    monkeypatch.setattr(nets, "_small_pnet", small)
    faces = det.detect(IDENTITIES / "img1.jpg")
    assert small.sizes and all(h * w < nets_mod.SMALL_LEVEL_PIXELS for _, h, w, _ in small.sizes)
    monkeypatch.setattr(nets_mod, "SMALL_LEVEL_PIXELS", 0)  # every level on the default session
    again = det.detect(IDENTITIES / "img1.jpg")
    assert len(faces) == len(again) >= 1
    for a, b in zip(faces, again):
        np.testing.assert_allclose(a.box, b.box, atol=1e-3)
        assert abs(a.score - b.score) < 1e-5
    one = create_detector("mtcnn", threads=1)
    one.detect(IDENTITIES / "img1.jpg")
    assert one._model._small_pnet is one._model.sessions[0]  # already one thread: no second session


@needs_faces
def test_mtcnn_keeps_large_images_uint8_and_finds_the_same_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    import faceprint.detection.mtcnn as mtcnn
    from faceprint.detection import create_detector
    from faceprint.image import load_image

    det = create_detector("mtcnn")
    photo = load_image(IDENTITIES / "couple.jpg").pixels
    img = cv2.resize(photo, (480, round(photo.shape[0] * 480 / photo.shape[1])), interpolation=cv2.INTER_AREA)
    as_float = det.detect(img)
    assert det._image(img).dtype == np.float32
    monkeypatch.setattr(mtcnn, "_FLOAT_MAX_PIXELS", 0)  # as a photo over 4 Mpx would be
    assert det._image(img).dtype == np.uint8
    as_uint8 = det.detect(img)
    assert len(as_float) == len(as_uint8) >= 2
    for a, b in zip(as_float, as_uint8):  # the levels and crops differ only by uint8 rounding
        assert np.abs(np.subtract(a.box, b.box)).max() <= 0.05 * (a.box[2] - a.box[0]), (a.box, b.box)


def test_mtcnn_crops_pad_outside_the_image_with_black_in_either_dtype() -> None:
    from faceprint.detection.mtcnn import _BLACK, _crops, _normalised

    img = np.random.default_rng(3).integers(1, 256, (40, 50, 3), dtype=np.uint8)  # no black pixel of its own
    boxes = np.array([[-10.0, -6.0, 29.0, 33.0], [30.0, 20.0, 69.0, 59.0], [5.0, 5.0, 24.0, 24.0]])
    for transposed in (False, True):
        src = img.transpose(1, 0, 2).copy() if transposed else img
        a, b = _crops(src, boxes, 24, transposed), _crops(_normalised(src), boxes, 24, transposed)
        assert a.dtype == b.dtype == np.float32 and a.shape == (3, 24, 24, 3)
        np.testing.assert_allclose(a, b, atol=1 / 128)  # uint8 rounding of the resize only: a grey level
        # the first box starts 10 columns and 6 rows outside: its first 24 * 6 / 40 rows are all black
        corner = b[0, :3] if not transposed else b[0, :, :3]
        np.testing.assert_allclose(corner, _BLACK, atol=1e-6)
        assert np.abs(b[2] - _BLACK).min() > 0  # a box inside the image has no padding
