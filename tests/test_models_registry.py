"""The typed registry package (faceprint.models): spec classes per task, defaults from specs, no shared-file slicing."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest

from faceprint.detection import Detector, create_detector
from faceprint.errors import ConfigError
from faceprint.models.landmarkers import DLIB_SHAPE_5
from faceprint.models.registry import companions, get, register, required_files, specs
from faceprint.models.specs import AttributeSpec, DetectorSpec, LandmarkerSpec, ModelSpec, RecognizerSpec
from faceprint.models.templates import DLIB5_150, dlib_chip_points
from faceprint.types import Face

_CLASSES = {"detector": DetectorSpec, "recognizer": RecognizerSpec, "landmarks": LandmarkerSpec}


def test_every_spec_has_its_tasks_class() -> None:
    for s in specs():
        assert isinstance(s, _CLASSES.get(s.task, AttributeSpec)), s.name
    with pytest.raises(FrozenInstanceError):
        get("yunet", "detector").score_threshold = 0.1  # type: ignore[misc]


def test_detector_defaults_are_typed_fields() -> None:
    yunet, scrfd, mtcnn = get("yunet", "detector"), get("scrfd", "detector"), get("mtcnn", "detector")
    assert (yunet.score_threshold, yunet.nms_threshold) == (0.7, 0.3)
    assert (scrfd.score_threshold, scrfd.nms_threshold) == (0.5, 0.4)
    assert mtcnn.score_threshold is None  # MTCNN's per-stage thresholds stay in detection/mtcnn.py
    assert mtcnn.backend == "onnx" and get("mtcnn_torch", "detector").backend == "torch"
    # the option set a detector takes is derived from the typed fields
    assert scrfd.defaults() == {"device": "cpu", "nms_threshold": 0.4}
    assert get("dlib_hog", "detector").defaults() == {"upsample": 1}
    assert not get("dlib_hog", "detector").takes_device and scrfd.takes_device


class _Boxes(Detector):
    """Deterministic detector (no weights): three boxes scoring 0.3, 0.6 and 0.9, filtered by ``score_cut``."""

    def _load(self) -> object:
        return object()

    def _detect(self, bgr: np.ndarray, min_size: float) -> list[Face]:
        cut = self.score_cut if self.score_cut is not None else 0.0
        return [Face(box=(10.0 * i, 10.0, 10.0 * i + 40, 50.0), score=s) for i, s in enumerate((0.3, 0.6, 0.9)) if s >= cut]


def test_score_default_comes_from_the_spec() -> None:
    spec = DetectorSpec(name="boxes", implementation="tests.test_models_registry:_Boxes", score_threshold=0.5, max_side=None)
    img = np.zeros((80, 160, 3), np.uint8)
    assert [f.score for f in _Boxes(spec).detect(img)] == [0.9, 0.6]
    assert [f.score for f in _Boxes(replace(spec, score_threshold=0.8)).detect(img)] == [0.9]
    assert [f.score for f in _Boxes(spec, score_threshold=0.2).detect(img)] == [0.9, 0.6, 0.3]  # the caller's wins
    with pytest.raises(ConfigError, match="no option"):
        _Boxes(spec, nms_threshold=0.5)  # this spec has no NMS default, so no such option


def test_real_detector_reads_its_spec_score() -> None:
    det = create_detector("yunet")
    assert det.score_cut == 0.7 and create_detector("yunet", score_threshold=0.9).score_cut == 0.9
    assert create_detector("mtcnn").score_cut is None


def test_recognizer_fields_are_typed() -> None:
    assert get("sface", "recognizer").normalization == "none"
    assert get("arcface_r50", "recognizer").normalization == "insightface"
    vgg = get("vgg_face", "recognizer")
    assert vgg.normalization == "vgg_mean" and vgg.l2_normalize and "l2_normalize" not in vgg.options
    assert get("facenet", "recognizer").options == {"arch_options": {"dim": 128}}
    assert get("emotion", "emotion").labels[0] == "angry" and "labels" not in get("emotion", "emotion").options


def test_the_5_point_file_belongs_to_its_landmark_model_only() -> None:
    dlib5 = get("dlib5", "landmarks")
    assert dlib5.files == (DLIB_SHAPE_5,) and dlib5.scheme == "dlib5" and dlib5.points == 5
    for s in specs():
        if s is not dlib5:
            assert DLIB_SHAPE_5 not in s.files, s.name
    # ... and the pipeline's needs are derived: box-only detectors and dlib's recognizers
    for name, task in (("dlib", "recognizer"), ("dlib_torch", "recognizer"), ("dlib_hog", "detector"),
                       ("opencv_haar", "detector"), ("opencv_ssd", "detector")):  # fmt: skip
        assert companions(get(name, task)) == [dlib5] and required_files(get(name, task))[-1] == DLIB_SHAPE_5
    assert companions(get("mtcnn", "detector")) == [] and companions(get("sface", "recognizer")) == []


def test_dlib_template_defined_once() -> None:
    for name in ("dlib", "dlib_torch", "dlib_bin"):
        assert get(name, "recognizer").alignment is DLIB5_150
    assert DLIB5_150.points == dlib_chip_points()


def test_register_adds_and_refuses_duplicates() -> None:
    from faceprint.models import registry

    spec = DetectorSpec(name="test_only_boxes", implementation="tests.test_models_registry:_Boxes")
    try:
        register(spec)
        assert get("test-only-boxes", "detector") is spec and isinstance(create_detector("test_only_boxes"), _Boxes)
        with pytest.raises(ConfigError, match="already registered"):
            register(spec)
        with pytest.raises(ConfigError, match="ModelSpec"):
            register("yunet")  # type: ignore[arg-type]
    finally:  # leave the table as the other tests expect it
        registry._SPECS.remove(spec)
        registry._INDEX.pop(("detector", "testonlyboxes"), None)


def test_old_paths_reexport_the_same_objects() -> None:
    import faceprint.registry as old_registry
    import faceprint.runtime as old_runtime
    import faceprint.weights as old_weights
    from faceprint.models import runtime, weights

    assert old_registry.get is get and old_registry.ModelSpec is ModelSpec and old_registry.DLIB_SHAPE_5 is DLIB_SHAPE_5
    assert old_weights.resolve is weights.resolve and old_runtime.BatchModel is runtime.BatchModel
