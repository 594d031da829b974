"""Landmarks are a pipeline stage: dlib's 5-point model runs once per face, found through one lookup."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import WeightsMissingError
from faceprint.models.landmarkers import DLIB_SHAPE_5
from faceprint.models.weights import resolve
from faceprint.pipeline import Pipeline

from .conftest import IDENTITIES, needs_faces

PHOTO = IDENTITIES / "couple.jpg"  # two faces


@pytest.fixture
def shape_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[float, ...]]]:
    """Every box dlib's 5-point model is run on (any object, any pipeline)."""
    from faceprint.alignment import ShapePredictor5

    calls: list[tuple[float, ...]] = []
    real = ShapePredictor5._shape

    def counted(self: ShapePredictor5, rgb: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
        calls.append(tuple(box))
        return real(self, rgb, box)

    monkeypatch.setattr(ShapePredictor5, "_shape", counted)
    yield calls


def _bare(pipe: Pipeline) -> None:
    # the detector is box-only: its faces come without landmarks; the stage adds them
    assert not pipe.detector.spec.landmarks and pipe.detector.spec.landmarker == "dlib5"


@needs_faces
@pytest.mark.parametrize("refine", [True, False])
def test_predictor_runs_once_per_face_for_a_box_only_detector(
    refine: bool, shape_calls: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faceprint.alignment

    monkeypatch.setattr(faceprint.alignment, "REFINE_PASSES", 1)  # one refining pass: the counts are exact
    pipe = Pipeline("opencv_haar", "dlib", refine_shape=refine, tta=None)
    _bare(pipe)
    raw = pipe.detector.detect(PHOTO)
    assert raw and all(f.landmarks is None for f in raw) and shape_calls == []  # detectors only detect
    reps = pipe.represent(PHOTO, faces="all")
    n = len(reps)
    assert n == len(raw) >= 2
    # one first pass per face (landmarks and dlib5 alignment share it), plus the optional refining pass
    # (before: the detector's pass, then the alignment's first pass again, then the refining pass)
    assert len(shape_calls) == n * (2 if refine else 1)
    assert all(r.face.landmarks is not None and r.face.landmarks_source == "shape_predictor" for r in reps)


@needs_faces
def test_detect_and_extract_faces_still_carry_landmarks(shape_calls: list) -> None:
    pipe = Pipeline("opencv_haar", "dlib", tta=None)
    faces = pipe.detect(PHOTO)
    assert faces and all(f.landmarks.shape == (5, 2) and f.landmarks_source == "shape_predictor" for f in faces)
    assert len(shape_calls) == len(faces)
    assert "dlib5" not in faces[0].to_dict()  # the raw shape is internal plumbing, not output
    shape_calls.clear()
    ex = pipe.extract_faces(PHOTO)
    assert [e.face.landmarks_source for e in ex] == ["shape_predictor"] * len(faces)
    assert len(faces) < len(shape_calls) <= 3 * len(faces)  # the first pass + up to two refining passes
    # a detector that gives landmarks keeps them; the dlib5 template still gets its shapes
    shape_calls.clear()
    mt = Pipeline("mtcnn", "dlib", tta=None).extract_faces(PHOTO)
    assert all(e.face.landmarks_source == "detector" for e in mt) and len(mt) < len(shape_calls) <= 3 * len(mt)


@needs_faces
def test_a_weights_override_of_the_5_point_file_is_honoured(tmp_path: Path) -> None:
    copy = tmp_path / "my_shape_5.dat"
    shutil.copyfile(resolve(DLIB_SHAPE_5), copy)
    missing = str(tmp_path / "nowhere.dat")
    ref = Pipeline("opencv_haar", "dlib", tta=None).represent(PHOTO, faces="all")
    for opts in ({"landmark_options": {"weights": {DLIB_SHAPE_5.name: str(copy)}}},
                 {"detector_options": {"weights": {DLIB_SHAPE_5.name: str(copy)}}},
                 {"recognizer_options": {"weights": {DLIB_SHAPE_5.name: str(copy)}}}):  # fmt: skip
        pipe = Pipeline("opencv_haar", "dlib", tta=None, **opts)
        assert pipe.five.model.weight_path(DLIB_SHAPE_5) == str(copy)
        got = pipe.represent(PHOTO, faces="all")
        assert np.array_equal(np.array([r.embedding for r in got]), np.array([r.embedding for r in ref]))
    # the one lookup is the override: a missing file fails, before any detection runs
    for opts in ({"landmark_options": {"weights": {DLIB_SHAPE_5.name: missing}}},
                 {"detector_options": {"weights": {DLIB_SHAPE_5.name: missing}}}):  # fmt: skip
        with pytest.raises(WeightsMissingError, match=r"nowhere\.dat"):
            Pipeline("opencv_haar", "dlib", tta=None, **opts).represent(PHOTO)
        with pytest.raises(WeightsMissingError, match=r"nowhere\.dat"):
            Pipeline("opencv_haar", "dlib", tta=None, **opts).detect(PHOTO)


def test_landmark_options_are_checked() -> None:
    from faceprint.errors import ConfigError

    with pytest.raises(ConfigError, match="landmark_options"):
        Pipeline("opencv_haar", "dlib", landmark_options={"device": "cuda"})
