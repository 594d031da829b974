"""Test-time augmentation, the embedding contract's record of it, reduced-size JPEG decoding,
and the canonical predictor box."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from faceprint.augment import check_tta, describe, embed_augmented, parse, views
from faceprint.errors import ConfigError, ContractError
from faceprint.models.registry import get
from faceprint.search.contract import EmbeddingContract
from faceprint.verification import threshold_for

from .conftest import FACES, IDENTITIES, needs_faces
from .fakes import SHAPE5, scripted_predictor


def _fake_embed(crops):
    # a deterministic, position-sensitive "embedding": the mean of each column band
    return np.stack([c.astype(np.float32).mean(axis=(0, 2)).reshape(5, -1).mean(1) for c in crops])


def test_views_and_averaging_are_exact() -> None:
    rng = np.random.default_rng(1)
    crop = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    v = views(crop, "flip", 0)
    assert len(v) == 2 and np.array_equal(v[1], crop[:, ::-1])
    want = (_fake_embed([crop])[0] + _fake_embed([crop[:, ::-1]])[0]) / 2
    got = embed_augmented(_fake_embed, [crop, crop], "flip", 0)
    assert got.shape == (2, 5) and got.dtype == np.float32
    np.testing.assert_allclose(got[0], want, rtol=1e-6)
    np.testing.assert_allclose(embed_augmented(_fake_embed, [crop], "none", 0), _fake_embed([crop]))
    # jitter: N more views, each a small perturbation, the same every call
    j1, j2 = views(crop, "none", 4), views(crop, "none", 4)
    assert len(j1) == 5 and all(np.array_equal(a, b) for a, b in zip(j1, j2))
    assert all(a.shape == crop.shape and not np.array_equal(a, crop) for a in j1[1:])
    assert embed_augmented(lambda c: np.empty((len(c), 5), np.float32), [], "flip", 3).shape == (0, 5)


def test_tta_validation_and_names() -> None:
    assert check_tta(None, 0) == "none" and check_tta("flip", 5) == "flip"
    for bad in ({"tta": "mirror", "num_jitters": 0}, {"tta": "flip", "num_jitters": -1}, {"tta": "flip", "num_jitters": 1.5}):
        with pytest.raises(ConfigError):
            check_tta(**bad)
    for tta, n in (("none", 0), ("flip", 0), ("none", 7), ("flip", 10)):
        assert parse(describe(tta, n)) == (tta, n)
    assert describe("flip", 10) == "flip+jitter10"
    with pytest.raises(ConfigError):
        parse("rotate")


def test_contract_records_tta_and_keeps_old_ids() -> None:
    flip = EmbeddingContract.for_model("dlib")  # the default: flip
    none = EmbeddingContract.for_model("dlib", tta="none")
    assert flip.tta == "flip" and none.tta == "none" and flip.id != none.id
    # a gallery made before tta was recorded has no "tta" key: it reads as "none" and keeps its id
    old = none.to_dict()
    old.pop("tta")
    old.pop("id")
    fields = {k: v for k, v in old.items() if k not in ("detector", "model")}
    old_id = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    assert EmbeddingContract.from_dict(old).id == none.id == old_id
    with pytest.raises(ContractError, match="tta: gallery 'none', the query 'flip'"):
        EmbeddingContract.from_dict(old).check(flip)
    assert EmbeddingContract.for_model("dlib", num_jitters=4).tta == "flip+jitter4"
    assert set(asdict(flip)) >= {"tta"}


def test_flip_thresholds_sit_below_the_plain_ones() -> None:
    spec = get("dlib", "recognizer")
    for metric in ("euclidean", "cosine", "euclidean_l2"):
        plain, flip = threshold_for(spec, metric), threshold_for(spec, metric, "flip")
        assert 0.95 * plain < flip < plain
    assert threshold_for(spec, "euclidean", "none") == 0.6
    assert threshold_for(get("dlib_bin", "recognizer"), "euclidean", "flip") == threshold_for(spec, "euclidean", "flip")


@needs_faces
def test_pipeline_flip_is_the_mean_of_both_views(pipeline) -> None:
    from faceprint import Pipeline

    plain = Pipeline(tta="none")
    assert pipeline.tta == "flip" and "tta='flip'" in repr(pipeline)
    (face,) = plain.extract_faces(IDENTITIES / "img1.jpg", faces="largest")
    want = plain.recognizer.embed([face.crop, np.ascontiguousarray(face.crop[:, ::-1])]).mean(0)
    np.testing.assert_allclose(pipeline.embed([face.crop])[0], want, atol=1e-5)
    r = pipeline.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg")
    assert r.verified and r.threshold == threshold_for(pipeline.recognizer.spec, "euclidean", "flip")
    assert plain.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg").threshold == 0.6
    with pytest.raises(ConfigError):
        Pipeline(tta="rotate")


@needs_faces
def test_reduced_decode_of_large_jpegs(tmp_path: Path) -> None:
    from PIL import Image

    from faceprint.image import load_image
    from faceprint.image_draft import load_reduced

    big = next(p for p in sorted(IDENTITIES.glob("*.jpg")) if max(Image.open(p).size) >= 2600)
    full = load_image(big)
    red = load_reduced(big, 640)
    assert red is not None and min(abs(red.factor - k) for k in (2, 4, 8)) < 0.01
    assert max(red.image.pixels.shape[:2]) >= 640 and red.full_size == (full.width, full.height)
    assert red.image.source == str(big)
    same = load_reduced(big.read_bytes(), 640)
    assert same is not None and np.array_equal(same.image.pixels, red.image.pixels)
    # not reduced: small images, PNGs, arrays, broken files (the full loader reports those)
    small = tmp_path / "small.jpg"
    Image.open(big).resize((600, 400)).save(small)
    png = tmp_path / "big.png"
    Image.open(big).save(png)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(big.read_bytes()[:200])
    assert all(load_reduced(x, 640) is None for x in (small, png, full.pixels, broken, tmp_path / "missing.jpg"))
    # an EXIF-rotated large JPEG: reduced copy upright, sizes swapped
    sideways = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(big).transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif, quality=90)
    rot = load_reduced(sideways, 640)
    assert rot is not None and rot.full_size == (full.width, full.height)
    assert rot.image.pixels.shape[:2] == red.image.pixels.shape[:2]


@needs_faces
def test_reduced_decode_gives_the_same_faces_and_embeddings(pipeline) -> None:
    from PIL import Image

    from faceprint import Pipeline

    full = Pipeline(reduced_decode=False)
    bigs = [p for p in sorted(IDENTITIES.glob("*.jpg")) if max(Image.open(p).size) >= 2600][:3]
    assert bigs
    for p in bigs:
        a, b = pipeline.represent(p)[0], full.represent(p)[0]
        w = a.face.box[2] - a.face.box[0]
        assert np.abs(np.subtract(a.face.box, b.face.box)).max() < 0.1 * w  # same face, full-size coordinates
        assert np.linalg.norm(a.embedding - b.embedding) < 0.1  # the same-person threshold is 0.59


@needs_faces
def test_canonical_box_makes_the_shape_detector_independent() -> None:
    from faceprint.alignment import canonical_box, shape_predictor
    from faceprint.detection import create_detector
    from faceprint.image import load_image
    from faceprint.models import weights
    from faceprint.models.landmarkers import DLIB_SHAPE_5

    pred = shape_predictor(str(weights.resolve(DLIB_SHAPE_5)))
    img = load_image(IDENTITIES / "img2.jpg").pixels
    hog = create_detector("dlib_hog").detect(img)[0]
    mt = create_detector("mtcnn").detect(img)[0]
    s_hog = pred.predict(img, [hog.box])[0]
    box = canonical_box(s_hog)
    # the canonical box of a HOG shape is close to the HOG box itself (that is how it was measured)
    side = hog.box[2] - hog.box[0]
    assert np.abs(np.subtract(box, hog.box)).max() < 0.15 * side
    plain = np.abs(pred.predict(img, [mt.box])[0] - s_hog).max()
    refined = np.abs(pred.predict(img, [mt.box], refine=True)[0] - pred.predict(img, [hog.box], refine=True)[0]).max()
    assert refined <= plain + 1.0


@needs_faces
def test_every_detector_gives_the_pipeline_the_same_chip_for_the_same_face() -> None:
    from faceprint.image import LoadedImage, load_image
    from faceprint.pipeline import Pipeline

    pipe, hog_pipe = Pipeline(), Pipeline("dlib_hog")
    dists = []
    for p in sorted((FACES / "orl").glob("s*/1.png"))[:24]:  # small faces: MTCNN's box is far from HOG's
        img = load_image(p)
        hog, mt = hog_pipe._detect(img, pick="largest"), pipe._detect(img, pick="largest")
        if hog and mt:
            crops = [pipe.align_faces(LoadedImage(img.pixels, p.name), f)[1][0] for f in (hog, mt)]
            dists.append(float(np.linalg.norm(np.subtract(*pipe.embed(crops)))))
    assert len(dists) >= 15
    # one refinement leaves them ~0.04 apart (the predictor on MTCNN's box alone: ~0.08)
    assert float(np.median(dists)) <= 0.01, dists


_SHAPE = SHAPE5


def test_refinement_stops_once_the_canonical_box_stays_put_and_at_two_passes() -> None:
    from faceprint.alignment import REFINE_PASSES, canonical_box

    fixed = _SHAPE.copy()
    pred, calls = scripted_predictor(lambda rect: fixed)
    img = np.zeros((300, 300, 3), np.uint8)
    assert REFINE_PASSES == 2
    out = pred.refine(img, [fixed], [canonical_box(fixed)])  # already at its fixed point: no pass at all
    assert calls == [] and np.array_equal(out[0], fixed)
    out = pred.refine(img, [fixed])  # one pass, then the box stays put
    assert len(calls) == 1
    calls.clear()
    out = pred.refine(img, [fixed + 7.0], [(0, 0, 50, 50)])  # the second pass is needed: the box moved
    assert len(calls) == 2 and np.array_equal(out[0], fixed)
    calls.clear()

    def drifting(rect: tuple[int, ...]) -> np.ndarray:
        fixed[:] += 3.0  # every pass lands 3 pixels further
        return fixed

    pred, calls = scripted_predictor(drifting)
    pred.refine(img, [fixed.copy()])  # a shape that keeps moving: capped at two passes
    assert len(calls) == 2
    calls.clear()
    pred.refine(img, [fixed.copy(), fixed.copy()], [None, None], passes=1)  # unknown first boxes: one pass each
    assert len(calls) == 2
    with pytest.raises(ConfigError, match="2 shapes but 1 boxes"):
        pred.refine(img, [fixed, fixed], [(0, 0, 9, 9)])
    with pytest.raises(ConfigError, match=">= 0"):
        pred.refine(img, [fixed], passes=-1)


def test_refinement_skips_a_pass_whose_box_is_within_the_tolerance() -> None:
    from faceprint.alignment import REFINE_TOLERANCE, _rect, canonical_box

    fixed = (_SHAPE - _SHAPE.mean(0)) * 2.0 + 150.0  # a large face: the tolerance is a few pixels
    pred, calls = scripted_predictor(lambda rect: fixed)
    img = np.zeros((300, 300, 3), np.uint8)
    box = canonical_box(fixed)
    tol = REFINE_TOLERANCE * (box[2] - box[0])
    near = (box[0] + 0.9 * tol, box[1] - 0.9 * tol, box[2] + 0.9 * tol, box[3])
    assert 0.9 * tol > 1 and _rect(near) != _rect(box)  # another whole-pixel box, within the tolerance
    pred.refine(img, [fixed], [near])
    assert calls == []
    far = (box[0] + 1.5 * tol, box[1], box[2], box[3])
    pred.refine(img, [fixed], [far])  # one edge beyond it: the pass runs (then the box stays put)
    assert len(calls) == 1


def test_predictor_box_moves_only_this_detectors_uncut_boxes() -> None:
    from faceprint.detection import create_detector
    from faceprint.types import Face

    det = create_detector("mtcnn")
    dx, dy, side = det.spec.hog_box
    face = Face(box=(100.0, 100.0, 200.0, 220.0), score=0.99, detector="mtcnn")
    got = det.predictor_box(face, (640, 480))
    cx, cy, half = 150 + dx * 120, 160 + dy * 120, side * 120 / 2
    np.testing.assert_allclose(got, (cx - half, cy - half, cx + half, cy + half))
    # a detector that grows its boxes: the growth (its own _postprocess) is undone before the mapping
    grower = create_detector("mtcnn", expand=0.1)
    [grown] = grower._postprocess([face], np.zeros((480, 640, 3), np.uint8))
    assert grown.box != face.box
    np.testing.assert_allclose(grower.predictor_box(grown, (640, 480)), got)
    # boxes at the image's edge (cut by it, or within 5% of their side of it), other detectors' faces,
    # and detectors without a mapping keep their box
    for box in ((0.0, 100.0, 100.0, 220.0), (100.0, 0.0, 200.0, 120.0), (540.0, 100.0, 640.0, 220.0),
                (100.0, 360.0, 200.0, 480.0), (100.0, 356.0, 200.0, 476.0), (4.0, 100.0, 104.0, 220.0)):  # fmt: skip
        f = Face(box=box, score=0.9, detector="mtcnn")
        assert det.predictor_box(f, (640, 480)) == f.box, box
    assert det.predictor_box(Face(box=(10.0, 100.0, 110.0, 220.0), score=0.9, detector="mtcnn"), (640, 480)) != (
        10.0, 100.0, 110.0, 220.0)  # 10 px from the edge: beyond the margin of 6
    other = Face(box=(100.0, 100.0, 200.0, 220.0), score=0.9, detector="dlib_hog")
    assert det.predictor_box(other, (640, 480)) == other.box
    haar = create_detector("opencv_haar")
    square = Face(box=(100.0, 100.0, 200.0, 200.0), score=1.0, detector="opencv_haar")
    assert haar.spec.hog_box is None and haar.predictor_box(square, (640, 480)) == square.box
    from faceprint.pipeline import Pipeline

    pipe = Pipeline()  # the pipeline's 5-point stage starts from its detector's predictor box
    assert pipe.five.start == pipe.detector.predictor_box
    seen: dict[str, list] = {}
    model = pipe.five.model
    model.predict = lambda img, boxes: seen.setdefault("predict", list(boxes)) and [np.zeros((5, 2))] * len(boxes)
    model.refine = lambda img, shapes, boxes=None, anchors=None: seen.setdefault("refine", list(boxes)) and list(shapes)
    pipe.five.shapes(np.zeros((480, 640, 3), np.uint8), [face], refine=True)
    # the first pass ran on the mapped box, and the refinement knows that is the box it ran on
    assert seen["predict"] == seen["refine"] == [got]
