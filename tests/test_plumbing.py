"""The plumbing between the stages, tested with the fakes of tests/fakes.py (no weights, no ../shared):
one PipelineConfig from the entry points down, the decision policy as an object, evaluation of a model
without a threshold, the gallery and the service over a fake pipeline, and the fixes of issue 14."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import faceprint
from faceprint import api, errors
from faceprint.config import PipelineConfig
from faceprint.errors import ConfigError, DeviceError, NoFaceError
from faceprint.pipeline import Pipeline, get_pipeline
from tests.fakes import PEOPLE, FakeDetector, FakeRecognizer, face_image, recognizer_spec


def fake_config(**changes: object) -> PipelineConfig:
    return PipelineConfig(FakeDetector(), FakeRecognizer(), **changes)  # type: ignore[arg-type]


def person(name: str, **kw: object) -> np.ndarray:
    top, bottom = PEOPLE[name]
    return face_image(top, bottom, **kw)  # type: ignore[arg-type]


def write(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return path


# -- item 4: one config ----------------------------------------------------------------------------
def test_config_is_frozen_normalised_and_keys_the_shared_pipeline() -> None:
    a = PipelineConfig(tta=None, detector_options={"min_face_size": 30, "max_side": 640})
    b = PipelineConfig(tta="none", detector_options={"max_side": 640, "min_face_size": 30})
    assert a == b and hash(a) == hash(b) and a.tta == "none"
    assert a.detector_kwargs() == {"max_side": 640, "min_face_size": 30}
    with pytest.raises(AttributeError):
        a.align = "none"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="align"):
        PipelineConfig(align="crooked")
    with pytest.raises(DeviceError, match="tpu"):
        PipelineConfig(device="tpu")
    with pytest.raises(ConfigError, match="tta"):
        PipelineConfig(tta="rotate")
    assert PipelineConfig().replace(model="sface").recognizer == "sface"
    # the positional, keyword and config spellings of the same settings share one Pipeline
    p = get_pipeline("opencv_haar", "dlib", "none", "cpu", None)
    assert p is get_pipeline(PipelineConfig("opencv_haar", "dlib", align="none", tta="none"))
    assert p.config == PipelineConfig("opencv_haar", "dlib", align="none", tta="none")
    assert Pipeline(p.config).config == p.config and Pipeline.from_config(p.config).align == "none"


def test_pipeline_takes_model_objects_through_the_config() -> None:
    cfg = fake_config()
    pipe = Pipeline(cfg)
    assert pipe.detector is cfg.detector and pipe.recognizer is cfg.recognizer
    assert cfg.model == "fake" and cfg.detector_name == "fake_detector"
    assert cfg.to_dict()["recognizer"] == "fake"


def test_one_call_api_takes_a_config_or_keywords_and_a_device() -> None:
    cfg = fake_config(tta="none")
    reps = faceprint.represent(person("ann"), config=cfg)
    assert len(reps) == 1 and reps[0].model == "fake" and reps[0].embedding.shape == (8,)
    r = faceprint.verify(person("ann"), person("ann", box=(10, 10, 90, 100)), config=cfg)
    assert r.verified and r.model == "fake" and r.detector == "fake_detector"
    with pytest.raises(ConfigError, match="not both"):
        faceprint.verify(person("ann"), person("bob"), config=cfg, model="sface")
    with pytest.raises(DeviceError, match="tpu"):
        faceprint.represent(person("ann"), device="tpu")
    for fn in (api.verify, api.represent, api.represent_stream, api.extract_faces, api.analyze, api.detect,
               api.landmarks):  # fmt: skip
        params = inspect.signature(fn).parameters
        assert params["device"].default == "cpu" and params["config"].default is None, fn.__name__


# -- item 5: the decision policy ---------------------------------------------------------------------
def test_verify_decision_logic_with_fakes() -> None:
    pipe = Pipeline(fake_config())
    same = pipe.verify(person("ann"), person("ann", size=200, box=(20, 40, 150, 170)))
    other = pipe.verify(person("ann"), person("bob"))
    assert same.verified and same.distance < 1e-3 and same.threshold == 0.05 and same.metric == "cosine"
    assert not other.verified and other.distance > 0.05
    assert pipe.verify(person("ann"), person("bob"), threshold=other.distance).verified  # <= decides
    assert same.probability is None  # no calibration tuned
    with pytest.raises(ConfigError, match="no threshold for 'euclidean'"):
        pipe.verify(person("ann"), person("bob"), metric="euclidean")
    with pytest.raises(NoFaceError):
        pipe.verify(person("ann"), np.zeros((80, 80, 3), np.uint8))


def test_thresholds_file_is_read_once_per_pipeline_and_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faceprint import thresholds

    path = tmp_path / "thresholds.json"
    monkeypatch.setenv("FACEPRINT_THRESHOLDS", str(path))
    reads = []
    real = thresholds.read_settings
    monkeypatch.setattr(thresholds, "read_settings", lambda p=None: reads.append(p) or real(p))
    pipe = Pipeline(fake_config())
    for _ in range(3):
        assert pipe.verify(person("ann"), person("bob")).threshold == 0.05
    assert len(reads) == 1, f"thresholds file read {len(reads)} times for 3 verifies"
    path.write_text(json.dumps({"fake": {"thresholds": {"cosine": 0.9}, "calibration": {"cosine": [4.0, -10.0]}}}))
    r = pipe.verify(person("ann"), person("bob"))
    assert r.threshold == 0.9 and r.verified and r.probability == pytest.approx(1 / (1 + np.exp(-(4 - 10 * r.distance))))
    assert len(reads) == 2
    policy = thresholds.Thresholds.load(recognizer_spec(), path=path)
    assert policy.tuned == {"cosine"} and policy.get("euclidean") is None


def test_write_settings_merges_into_the_tuned_file(tmp_path: Path) -> None:
    from faceprint.thresholds import read_settings, write_settings

    path = tmp_path / "t.json"
    write_settings({"a": {"thresholds": {"cosine": 0.3}}}, path)
    write_settings({"a": {"thresholds": {"euclidean": 0.5}, "calibration": {"cosine": [1, 2]}}, "b": {}}, path)
    assert read_settings(path) == {"a": {"thresholds": {"cosine": 0.3, "euclidean": 0.5},
                                         "calibration": {"cosine": [1, 2]}}, "b": {}}  # fmt: skip
    path.write_text("{broken")
    with pytest.raises(ConfigError, match="unreadable thresholds file"):
        read_settings(path)


def _fake_pairs(tmp_path: Path) -> list:
    from faceprint.evaluation.pairs import Pair

    names = list(PEOPLE)
    files = {}
    for i, name in enumerate(names):
        for k in range(2):
            files[name, k] = write(tmp_path / "img" / f"{name}{k}.png", person(name, box=(30 + 7 * k, 20 + 5 * i, 130, 140)))
    pairs = []
    for fold in range(2):
        for name in names:
            pairs.append(Pair(files[name, 0], files[name, 1], True, fold))
        for a, b in zip(names, names[1:] + names[:1]):
            pairs.append(Pair(files[a, fold], files[b, 1 - fold], False, fold))
    return pairs


def test_evaluate_and_tune_a_model_without_a_threshold(tmp_path: Path) -> None:
    from faceprint.evaluation.cli import _tune
    from faceprint.evaluation.runner import System, evaluate, format_table
    from faceprint.thresholds import Thresholds

    spec = recognizer_spec("fake_untuned", thresholds={})
    cfg = PipelineConfig(FakeDetector(), FakeRecognizer(spec), tta="none")
    pairs = _fake_pairs(tmp_path)
    (r,) = evaluate(pairs, [cfg], cache_dir=tmp_path / "cache")
    assert r.model == "fake_untuned" and r.threshold_source != "model" and r.n_failed == 0
    assert r.accuracy == 1.0 and r.threshold == r.tuned["infogain"]
    assert "*" in format_table([r]) and "no threshold" in format_table([r])
    path = tmp_path / "tuned.json"
    args = argparse.Namespace(metric="cosine", method="infogain", write=str(path), json=True)
    assert _tune(args, pairs, [System.from_config(cfg)], tmp_path / "cache", False) == 0
    saved = json.loads(path.read_text())
    assert saved["fake_untuned"]["thresholds"]["cosine"] == pytest.approx(r.tuned["infogain"])
    assert Thresholds.load(spec, path=path).threshold("cosine") == pytest.approx(r.tuned["infogain"])


def test_cli_tune_of_a_model_without_weights_names_the_file_not_a_missing_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from faceprint.cli import main

    pairs = _fake_pairs(tmp_path)
    csv = tmp_path / "pairs.csv"
    csv.write_text("img1,img2,label\n" + "".join(f"{p.img1},{p.img2},{int(p.same)}\n" for p in pairs))
    code = main(["tune", str(csv), "--model", "arcface_mbf", "--detector", "opencv_haar", "--folds", "2",
                 "--cache", str(tmp_path / "cache")])  # fmt: skip
    err = capsys.readouterr().err
    assert "no threshold" not in err
    assert code == 1 and "w600k_mbf.onnx" in err  # offline: the weight file is named, with where to put it


# -- item 6 --------------------------------------------------------------------------------------------
def test_represent_stream_has_one_default_for_errors() -> None:
    lib = inspect.signature(Pipeline.represent_stream).parameters["errors"].default
    assert lib == inspect.signature(api.represent_stream).parameters["errors"].default == "skip"
    results = list(Pipeline(fake_config()).represent_stream([person("ann"), np.zeros((50, 50, 3), np.uint8)]))
    assert results[0].error is None and "NoFaceError" in (results[1].error or "")


def test_search_find_and_index_stay_functions_after_every_submodule_is_imported() -> None:
    import faceprint.search as search

    assert inspect.isfunction(search.find) and inspect.isfunction(search.index)
    for info in pkgutil.walk_packages(search.__path__, "faceprint.search."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional back end's client is not installed: its module is not the point
            continue
    assert inspect.isfunction(search.find) and search.find.__module__ == "faceprint.search.finder"
    assert inspect.isfunction(search.index) and inspect.isfunction(faceprint.find)


@pytest.mark.parametrize(("location", "kind"), [
    ("postgresql://u@localhost/db#faces", "pgvector"),
    ("postgres://u@localhost/db", "pgvector"),
    ("postgresql+psycopg://u@localhost/db", "pgvector"),
    ("PostgreSQL://u@localhost/db", "pgvector"),
    ("milvus:/data/faces.db#people", "milvus"),
    ("milvus:faces.db", "milvus"),
    ("http://127.0.0.1:19530", "milvus"),
    ("https://milvus.example:443", "milvus"),
    ("parquet:/data/shards", "parquet"),
    ("/data/galleries/people", "embedded"),
    ("postgresql-faces", "embedded"),
    ("gallery", "embedded"),
])  # fmt: skip
def test_database_url_detection(location: str, kind: str) -> None:
    from faceprint.search.backends import is_database_url, store_kind
    from faceprint.search.finder import is_gallery

    assert store_kind(location) == kind
    assert is_database_url(location) == (kind != "embedded")
    assert is_gallery(location) == (kind != "embedded")  # no such folder here: only URLs are galleries


def test_a_gallery_folder_named_like_a_url_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint.search import Gallery
    from faceprint.search.backends import store_kind
    from faceprint.search.finder import is_gallery

    monkeypatch.chdir(tmp_path)
    pipe = Pipeline(fake_config())
    with Gallery("milvus:faces", pipeline=pipe, backend="embedded") as g:  # made as a folder...
        g.add(person("ann"), "ann")
    # ...and once it exists, the folder is what "milvus:faces" means: to find() and to the store alike
    assert store_kind("milvus:faces") == "embedded" and is_gallery("milvus:faces")
    with Gallery("milvus:faces", pipeline=pipe) as g:
        assert len(g) == 1 and g.search(person("ann"), k=1)[0].best.identity == "ann"
    assert store_kind("milvus:faces", backend="milvus") == "milvus"
    with pytest.raises(ConfigError, match="unknown gallery backend"):
        store_kind("x", backend="redis")


def test_every_error_class_is_exported_at_the_top_level() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, BaseException)
               and c.__module__ == "faceprint.errors"]  # fmt: skip
    assert {"DeviceError", "DependencyError", "StoreError", "WeightsMissingError", "WeightsChecksumError",
            "WeightsFormatError"} <= {c.__name__ for c in classes}  # fmt: skip
    for cls in classes:
        assert getattr(faceprint, cls.__name__) is cls, cls.__name__
        assert cls.__name__ in dir(faceprint)


# -- item 7: gallery and service over the fakes ----------------------------------------------------------
def test_gallery_add_search_remove_with_a_fake_pipeline(tmp_path: Path) -> None:
    from faceprint.search import Gallery

    pipe = Pipeline(fake_config())
    files = {name: write(tmp_path / "photos" / name / f"{name}.png", person(name)) for name in PEOPLE}
    with Gallery(tmp_path / "g", pipeline=pipe) as g:
        assert g.pipeline is pipe and g.contract.model == "fake" and g.contract.dim == 8
        for name, f in files.items():
            assert g.add(f, name).faces == 1
        (fm,) = g.search(person("bob", size=220, box=(60, 50, 200, 210)), k=2)
        assert fm.best.identity == "bob" and fm.best.verified and not fm.matches[1].verified
        assert g.remove(files["bob"]) == 1
        (fm,) = g.search(person("bob"), k=1)
        assert fm.best.identity != "bob" and not fm.best.verified
        assert len(g) == 2
    with Gallery(tmp_path / "g", config=pipe.config) as again:  # the same settings, by config
        assert again.contract == g.contract and len(again) == 2
    with pytest.raises(ConfigError, match="not both"):
        Gallery(tmp_path / "g", pipeline=pipe, config=pipe.config)
    with pytest.raises(faceprint.ContractError):
        Gallery(tmp_path / "g", config=fake_config(tta="none"))  # another augmentation: another space


def test_find_in_a_folder_of_photos_with_a_config(tmp_path: Path) -> None:
    cfg = fake_config()
    for name in PEOPLE:
        write(tmp_path / "photos" / name / "1.png", person(name))
    (fm,) = faceprint.find(person("cy", size=180), tmp_path / "photos", config=cfg, k=3)
    assert fm.best.identity == "cy" and fm.best.verified and len(fm) == 3
    (again,) = faceprint.find(person("ann"), tmp_path / "photos", config=cfg, k=1, refresh=False)
    assert again.best.identity == "ann"  # the same folder gallery, found by the config's contract


def test_service_represent_and_verify_over_fakes(tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason="the service needs fastapi (pip install 'faceprint[service]')")
    pytest.importorskip("httpx", reason="fastapi's TestClient needs httpx")
    import time

    from fastapi.testclient import TestClient

    from faceprint.service.app import create_app
    from faceprint.service.config import ServiceConfig

    cfg = ServiceConfig(detector=FakeDetector(), model=FakeRecognizer(), align="none", db=str(tmp_path / "db"),
                        anonymous="read", keys_file=str(tmp_path / "keys.sqlite"), workers=1)  # fmt: skip
    ann = cv2.imencode(".png", person("ann"))[1].tobytes()
    bob = cv2.imencode(".png", person("bob"))[1].tobytes()
    with TestClient(create_app(cfg)) as client:
        for _ in range(200):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.05)
        r = client.post("/v1/represent", files={"img": ("ann.png", ann, "image/png")})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == "fake" and body["detector"] == "fake_detector" and body["dim"] == 8
        (face,) = body["faces"]
        want = Pipeline(fake_config(align="none")).represent(person("ann"))[0].embedding
        np.testing.assert_allclose(face["embedding"], want, atol=1e-5)
        r = client.post("/v1/verify", files={"img1": ("a.png", ann, "image/png"), "img2": ("b.png", bob, "image/png")})
        assert r.status_code == 200, r.text
        assert r.json()["verified"] is False and r.json()["threshold"] == 0.05
        blank = cv2.imencode(".png", np.zeros((60, 60, 3), np.uint8))[1].tobytes()
        r = client.post("/v1/represent", files={"img": ("blank.png", blank, "image/png")})
        assert r.status_code == 422 and "no face" in r.text


def test_every_model_running_subcommand_has_the_shared_device_and_tta_options() -> None:
    from faceprint.augment import TTA_MODES
    from faceprint.cli import _parser
    from faceprint.cli_options import pipeline_config
    from faceprint.config import DEVICES

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    def options(verb: str) -> dict[str, argparse.Action]:
        return {s: a for a in sub.choices[verb]._actions for s in a.option_strings}

    for verb in ("verify", "represent", "detect", "analyze", "evaluate", "tune", "index", "find", "stream", "serve"):
        assert tuple(options(verb)["--device"].choices) == DEVICES, verb
    for verb in ("verify", "represent", "evaluate", "tune", "index", "find", "stream"):
        assert tuple(options(verb)["--tta"].choices) == TTA_MODES, verb
    args = _parser().parse_args(["verify", "a.jpg", "b.jpg", "--device", "auto", "--tta", "none",
                                 "--detector-device", "cpu", "--model", "sface", "--align", "eye_line"])  # fmt: skip
    cfg = pipeline_config(args)
    assert (cfg.device, cfg.tta, cfg.recognizer, cfg.align) == ("auto", "none", "sface", "eye_line")
    assert cfg.detector_kwargs() == {"device": "cpu"}
    assert pipeline_config(_parser().parse_args(["represent", "a.jpg"])) == PipelineConfig()
