"""Alignment geometry, checked against independent computations and dlib's own chip extractor."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceprint.alignment import align_face, dlib5_to_five, eye_line, similarity_transform
from faceprint.errors import ConfigError
from faceprint.models.registry import get
from faceprint.models.templates import DLIB5_UNIT
from faceprint.types import Face

from .conftest import IDENTITIES, needs_faces


def test_similarity_transform_recovers_a_known_map() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (5, 2))
    angle, scale, t = 0.3, 1.7, np.array([12.0, -5.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + t
    m = similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)
    # matches OpenCV's independent estimator on noiseless points
    ref, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    np.testing.assert_allclose(m, ref, atol=1e-4)
    with pytest.raises(ConfigError):
        similarity_transform(np.zeros((5, 2)), dst)


def _umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) by SVD of the covariance, with the reflection check: the reference."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d0.T @ s0 / len(src))
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1
    rot = u @ d @ vt
    scale = (sig * np.diag(d)).sum() / ((s0**2).sum() / len(src))
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def test_similarity_transform_is_umeyamas_least_squares_solution() -> None:
    rng = np.random.default_rng(7)
    for i in range(300):
        n = int(rng.integers(2, 70))
        src = rng.standard_normal((n, 2)) * rng.uniform(0.1, 300)
        if i % 3 == 0:  # a similarity plus noise
            a, s = rng.uniform(-np.pi, np.pi), rng.uniform(0.05, 5)
            rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            dst = src @ rot.T + rng.uniform(-100, 100, 2) + rng.standard_normal((n, 2)) * rng.uniform(0, 5)
        elif i % 3 == 1:  # a mirror image: the best proper similarity, never a reflection
            dst = src * [1.0, -1.0] + rng.standard_normal((n, 2))
        else:  # unrelated points
            dst = rng.standard_normal((n, 2)) * 50
        m = similarity_transform(src, dst)
        np.testing.assert_allclose(m, _umeyama(src, dst), rtol=1e-9, atol=1e-9 * (1 + np.abs(dst).max()))
        assert m[0, 0] == m[1, 1] and m[0, 1] == -m[1, 0]


def test_align_puts_landmarks_on_the_template() -> None:
    tpl = get("dlib", "recognizer").alignment
    # an image whose only bright pixels are the five landmark points, placed by a known similarity
    img = np.zeros((600, 600, 3), np.uint8)
    m = np.array([[2.2, -0.4, 150], [0.4, 2.2, 90]])
    pts = np.hstack([np.asarray(tpl.points), np.ones((5, 1))]) @ m.T
    for x, y in pts:
        cv2.circle(img, (round(x), round(y)), 4, (255, 255, 255), -1)
    crop = align_face(img, pts, tpl)
    assert crop.shape == (150, 150, 3)
    for x, y in tpl.points:
        assert crop[round(y), round(x)].max() > 100, (x, y)


def test_dlib5_to_five_on_the_template_itself() -> None:
    unit = np.asarray(DLIB5_UNIT) * 100
    five = dlib5_to_five(unit)
    assert five.shape == (5, 2)
    np.testing.assert_allclose(five[0], (unit[2] + unit[3]) / 2)  # image-left eye: corners 2, 3
    np.testing.assert_allclose(five[1], (unit[0] + unit[1]) / 2)
    assert five[0, 1] < five[2, 1] < five[3, 1]


def test_eye_line_levels_the_eyes() -> None:
    img = np.zeros((400, 400, 3), np.uint8)
    le, re = np.array([150.0, 220.0]), np.array([250.0, 180.0])  # tilted
    for p in (le, re):
        cv2.circle(img, tuple(int(v) for v in p), 5, (255, 255, 255), -1)
    lm = np.array([le, re, [200, 250], [170, 300], [240, 280]], np.float32)
    face = Face(box=(100, 100, 300, 350), score=1.0, landmarks=lm)
    crop = eye_line(img, face, (200, 250))
    ys, xs = np.nonzero(crop[:, :, 0] > 128)
    left, right = ys[xs < 100].mean(), ys[xs >= 100].mean()
    assert abs(left - right) < 2.0


@needs_faces
def test_template_alignment_matches_dlib_chip() -> None:
    """Our warp with dlib's template reproduces dlib.get_face_chip (same geometry, within a pixel or so)."""
    import dlib

    from faceprint import Pipeline
    from faceprint.image import load_image

    pipe = Pipeline("mtcnn")
    img = load_image(IDENTITIES / "img14.jpg")
    face = pipe.detect(img)[0]
    shape = pipe._predictor().predict(img.pixels, [face.box])[0]
    rgb = np.ascontiguousarray(img.pixels[:, :, ::-1])
    det = dlib.full_object_detection(dlib.rectangle(0, 0, 1, 1), [dlib.point(int(x), int(y)) for x, y in shape])
    ref = dlib.get_face_chip(rgb, det, 150, 0.25)[:, :, ::-1].astype(np.float32)
    mine = align_face(img.pixels, shape, pipe.recognizer.alignment).astype(np.float32)
    assert np.abs(ref - mine).mean() < 12
    corr = np.corrcoef(ref.ravel(), mine.ravel())[0, 1]
    assert corr > 0.97
