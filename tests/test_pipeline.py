"""End to end on real photos: detect → align → represent → verify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import faceprint
from faceprint import Pipeline
from faceprint.errors import ConfigError, NoFaceError
from faceprint.models.registry import get
from faceprint.verification import distance, distance_matrix, threshold_for

from .conftest import IDENTITIES, needs_faces, read_csv

pytestmark = needs_faces


@pytest.fixture(scope="module")
def master_embeddings(pipeline: Pipeline) -> tuple[list[dict[str, str]], dict[str, np.ndarray]]:
    rows = read_csv(IDENTITIES / "master.csv")
    files = sorted({r["file_x"] for r in rows} | {r["file_y"] for r in rows})
    reps = pipeline.represent_batch([IDENTITIES / f for f in files])
    return rows, {f: r[0].embedding for f, r in zip(files, reps)}


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "euclidean_l2"])
def test_master_accuracy_at_builtin_threshold(pipeline: Pipeline, master_embeddings, metric: str) -> None:
    rows, emb = master_embeddings
    thr = threshold_for(get("dlib", "recognizer"), metric, pipeline.tta)  # the default flip's thresholds
    correct = [(distance(emb[r["file_x"]], emb[r["file_y"]], metric) <= thr) == (r["Decision"] == "Yes") for r in rows]
    acc = float(np.mean(correct))
    assert len(rows) == 276
    assert acc >= 0.98, f"{metric}: accuracy {acc:.4f} at threshold {thr}"


def test_verify_matches_batch_embeddings(pipeline: Pipeline, master_embeddings) -> None:
    _, emb = master_embeddings
    same = pipeline.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg")
    diff = pipeline.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img3.jpg")
    assert same.verified and not diff.verified
    assert same.distance == pytest.approx(distance(emb["img1.jpg"], emb["img2.jpg"], "euclidean"), abs=1e-5)
    assert same.metric == "euclidean" and same.threshold == 0.588 and same.model == "dlib" and same.detector == "mtcnn"
    assert set(same.timings) >= {"decode", "detect", "align", "embed", "total"}
    assert all(f.box[2] > f.box[0] for f in same.faces)
    json.dumps(same.to_dict())  # plain types only
    with pytest.raises(AttributeError):
        same.verified = False  # type: ignore[misc]  # frozen


def test_module_api_and_inputs(master_embeddings) -> None:
    _, emb = master_embeddings
    path = IDENTITIES / "img1.jpg"
    data = path.read_bytes()
    for inp in (str(path), path, data):
        (rep,) = faceprint.represent(inp)
        assert rep.embedding.shape == (128,) and rep.embedding.dtype == np.float32
        np.testing.assert_allclose(rep.embedding, emb["img1.jpg"], atol=1e-5)
    r = faceprint.verify(path, IDENTITIES / "img2.jpg", metric="cosine")
    assert r.verified and r.metric == "cosine" and r.threshold == get("dlib", "recognizer").tta_thresholds["flip"]["cosine"]


def test_exif_rotated_photo_gives_same_embedding(tmp_path: Path, master_embeddings) -> None:
    from PIL import Image

    _, emb = master_embeddings
    img = Image.open(IDENTITIES / "img2.jpg").convert("RGB")
    rotated = img.transpose(Image.Transpose.ROTATE_90)  # stored sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with the EXIF tag that rights it
    path = tmp_path / "sideways.jpg"
    rotated.save(path, exif=exif, quality=95)
    (rep,) = faceprint.represent(path)
    assert distance(rep.embedding, emb["img2.jpg"], "euclidean") < 0.1


def test_multi_face_policies(pipeline: Pipeline) -> None:
    path = IDENTITIES / "couple.jpg"
    everyone = pipeline.represent(path, faces="all")
    assert len(everyone) == 2
    (largest,) = pipeline.represent(path, faces="largest")
    assert largest.face.area == max(r.face.area for r in everyone)
    (main,) = pipeline.represent(path)  # the default, "main": here the largest face is also the central one
    assert main.face.box == largest.face.box
    # the img1 person is in couple.jpg: with faces="all" the closest pair decides
    r = pipeline.verify(IDENTITIES / "img1.jpg", path, faces="all")
    assert r.verified
    crops = pipeline.extract_faces(path)
    assert len(crops) == 2 and all(c.crop.shape == (150, 150, 3) for c in crops)
    with pytest.raises(ConfigError):
        pipeline.represent(path, faces="biggest")


def test_no_face_raises_or_proceeds(pipeline: Pipeline) -> None:
    blank = np.full((240, 320, 3), 90, np.uint8)
    with pytest.raises(NoFaceError, match="found no face") as info:
        pipeline.verify(blank, IDENTITIES / "img1.jpg")
    assert info.value.source == "<array>"
    r = pipeline.verify(blank, IDENTITIES / "img1.jpg", enforce_detection=False)
    assert not r.verified and r.faces[0].detector == "none"


def test_alignment_modes_and_every_detector_end_to_end() -> None:
    a, b, c = IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg", IDENTITIES / "img3.jpg"
    for det in ("dlib_hog", "opencv_haar", "dlib_mmod"):
        p = Pipeline(det)
        assert p.verify(a, b).verified and not p.verify(a, c).verified, det
    for mode in ("eye_line", "none"):
        p = Pipeline("mtcnn", align=mode)
        (face,) = p.extract_faces(a, faces="largest")
        assert face.crop.shape == (150, 150, 3)
        assert p.verify(a, b).distance < p.verify(a, c).distance
    with pytest.raises(ConfigError):
        Pipeline(align="sideways")


def test_distance_functions() -> None:
    a = np.array([3.0, 4.0])
    b = np.array([6.0, 8.0])
    assert distance(a, b, "cosine") == pytest.approx(0.0, abs=1e-12)
    assert distance(a, b, "euclidean") == pytest.approx(5.0)
    assert distance(a, b, "euclidean_l2") == pytest.approx(0.0, abs=1e-6)
    c = np.array([-4.0, 3.0])
    assert distance(a, c, "cosine") == pytest.approx(1.0)
    assert distance(a, c, "euclidean_l2") == pytest.approx(np.sqrt(2))
    m = distance_matrix(np.eye(3), np.eye(3), "euclidean")
    np.testing.assert_allclose(np.diag(m), 0, atol=1e-7)
    with pytest.raises(ConfigError):
        distance(a, b, "manhattan")
    with pytest.raises(ConfigError, match="sizes differ"):
        distance(a, np.ones(3), "cosine")


def test_represent_stream_order_errors_and_bounded_readahead(pipeline: Pipeline, tmp_path: Path) -> None:
    names = ["img1.jpg", "img2.jpg", "img3.jpg", "img4.jpg", "img5.jpg"]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    blank = np.full((200, 200, 3), 128, np.uint8)
    items: list[object] = [IDENTITIES / names[0], broken, IDENTITIES / names[1], blank, *(IDENTITIES / n for n in names[2:])]
    pulled = []

    def source():
        for it in items:
            pulled.append(it)
            yield it

    stream = pipeline.represent_stream(source(), batch_size=2, workers=1, errors="skip")
    first = next(stream)
    assert len(pulled) <= 1 + 2 + 2, "read ahead beyond batch + 2 * workers"
    results = [first, *stream]
    assert [Path(r.source).name if r.source != "<array>" else r.source for r in results] == [
        "img1.jpg", "broken.jpg", "img2.jpg", "<array>", "img3.jpg", "img4.jpg", "img5.jpg"
    ]  # fmt: skip
    assert results[1].error and "ImageDecodeError" in results[1].error and not results[1].representations
    assert results[3].error and "NoFaceError" in results[3].error
    single = pipeline.represent_batch([IDENTITIES / n for n in names])
    ok = [r for r in results if r.error is None]
    for got, want in zip(ok, single):
        assert len(got.representations) == 1
        np.testing.assert_allclose(got.representations[0].embedding, want[0].embedding, atol=1e-6)
    with pytest.raises(faceprint.ImageError):
        list(pipeline.represent_stream(items, errors="raise"))
    with pytest.raises(ConfigError):
        list(pipeline.represent_stream(items, errors="ignore"))


def test_represent_stream_over_a_folder(tmp_path: Path) -> None:
    for i, name in enumerate(["img1.jpg", "img2.jpg"]):
        sub = tmp_path / f"person{i}"
        sub.mkdir()
        (sub / name).symlink_to(IDENTITIES / name)
    (tmp_path / "notes.txt").write_text("not an image")
    results = list(faceprint.represent_stream(tmp_path))
    assert [Path(r.source).name for r in results] == ["img1.jpg", "img2.jpg"]
    assert all(r.error is None and r.representations[0].embedding.shape == (128,) for r in results)
    with pytest.raises(faceprint.ImageError, match="not a folder"):
        faceprint.iter_images(tmp_path / "missing")


def test_device_reaches_every_model_that_takes_one() -> None:
    from faceprint.errors import DeviceError

    pipe = Pipeline("mtcnn", "dlib", device="auto")
    assert pipe.detector.options["device"] == "auto" and pipe.recognizer.device == "auto"
    assert Pipeline("mtcnn", "dlib", detector_options={"device": "cpu"}, device="auto").detector.options["device"] == "cpu"
    with pytest.raises(DeviceError, match=r"dlib_hog.*CPU only"):
        Pipeline("dlib_hog", "dlib", device="cuda")
    assert Pipeline("dlib_hog", "dlib", device="auto").detector.name == "dlib_hog"
    # where each stage actually runs, as the runtimes report it
    assert pipe.runs_on() == {"detector": "CPUExecutionProvider", "recognizer": "CPUExecutionProvider"}
    assert Pipeline("dlib_hog", "dlib_bin").runs_on() == {"detector": "cpu", "recognizer": "cpu"}
