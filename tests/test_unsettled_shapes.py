"""A 5-point shape whose refinement does not settle is tried again from the detector's own landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from faceprint.errors import ConfigError

from .conftest import FACES, needs_faces
from .fakes import SHAPE5, scripted_predictor

# a face (200x200 UTKFace chip) that fills its frame: from MTCNN's box the predictor's refinement
# shrinks onto the eyes and nose and does not settle; a profile whose refinement drifts onto the hand
# at its mouth (docs/accuracy.md, "Shapes that do not settle")
FILLS_FRAME = FACES / "age_gender" / "images" / "9_0_1_20170110220431778.jpg.chip.jpg"
PROFILE = FACES / "group" / "sample2.jpg"

_SHAPE = SHAPE5


def _similar(points: np.ndarray, scale: float, angle: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.asarray(points, np.float64) @ np.array([[c, s], [-s, c]]) + np.asarray(shift)


def test_landmark_box_is_the_canonical_box_of_the_same_face() -> None:
    from faceprint.alignment import canonical_box, landmark_box
    from faceprint.models.templates import DLIB5_UNIT, FIVE_IN_UNIT

    rng = np.random.default_rng(3)
    for _ in range(20):
        scale, angle, shift = rng.uniform(40, 400), rng.uniform(-0.6, 0.6), tuple(rng.uniform(-50, 500, 2))
        five = _similar(np.array(FIVE_IN_UNIT), scale, angle, shift)
        shape = _similar(np.array(DLIB5_UNIT), scale, angle, shift)
        np.testing.assert_allclose(landmark_box(five), canonical_box(shape), atol=1e-6)


def _five_of(shape: np.ndarray) -> np.ndarray:
    from faceprint.alignment import dlib5_to_five

    return dlib5_to_five(shape).astype(np.float64)


def test_an_unsettled_shape_keeps_the_candidate_nearest_the_detectors_landmarks() -> None:
    from faceprint.alignment import UNSETTLED, landmark_box

    img = np.zeros((400, 400, 3), np.uint8)
    good = _SHAPE.copy()
    anchor = _five_of(good)  # the detector's landmarks: on the face the predictor finds from their box
    near_anchor = tuple(round(v) for v in landmark_box(anchor))
    drift = [0.0]

    def answer(rect: tuple[int, ...]) -> np.ndarray:
        # from the anchor's box the predictor finds the face; elsewhere every pass lands 12 px further
        if max(abs(a - b) for a, b in zip(rect, near_anchor)) <= 3:
            return good
        drift[0] += 12.0
        return _SHAPE + drift[0]

    pred, calls = scripted_predictor(answer)
    start = (0.0, 0.0, 60.0, 60.0)
    out = pred.refine(img, [answer(start)], [start], anchors=[anchor])
    # two passes that keep moving (far beyond UNSETTLED); then the anchor's start, whose shape settles at once
    assert len(calls) == 2 + 1 + 1 and UNSETTLED == 0.03
    np.testing.assert_array_equal(out[0], good)

    # without an anchor the unsettled shape is kept as it was refined
    calls.clear()
    drift[0] = 0.0
    kept = pred.refine(img, [answer(start)], [start], anchors=[None])
    assert len(calls) == 2 and np.array_equal(kept[0], _SHAPE + 36.0)

    # the first pass can win: anchored where the first shape was, before the passes carried it off
    calls.clear()
    drift[0] = 0.0
    first = answer(start)
    got = pred.refine(img, [first], [start], anchors=[_five_of(first)])
    np.testing.assert_array_equal(got[0], first)


def test_an_anchor_outside_the_image_is_not_used() -> None:
    # a face cut by the frame: the detector's landmarks for its hidden half are guesses past the edge
    drift = [0.0]

    def answer(rect: tuple[int, ...]) -> np.ndarray:
        drift[0] += 12.0
        return _SHAPE + drift[0]

    pred, calls = scripted_predictor(answer)
    start = (0.0, 0.0, 60.0, 60.0)
    anchor = _five_of(_SHAPE)
    width = int(np.ceil(anchor[:, 0].max()))
    above = anchor - [0.0, anchor[:, 1].min() + 1.0]  # the face cut by the top edge: a point at y = -1
    # (image width, anchor, used): every point inside; the rightmost point past the right edge; one above the top
    for cut, points, used in ((width + 1, anchor, True), (width - 1, anchor, False), (width + 1, above, False)):
        calls.clear()
        drift[0] = 0.0
        img = np.zeros((400, cut, 3), np.uint8)
        out = pred.refine(img, [answer(start)], [start], anchors=[points])
        assert len(calls) == (2 + 1 + 2 if used else 2), (cut, used)
        if not used:
            np.testing.assert_array_equal(out[0], _SHAPE + 36.0)  # kept as refined, as with no anchor


def test_a_settled_shape_never_looks_at_the_anchor() -> None:
    from faceprint.alignment import canonical_box

    img = np.zeros((300, 300, 3), np.uint8)
    far = _five_of(_SHAPE) + 100.0  # an anchor that would pull the shape elsewhere
    pred, calls = scripted_predictor(lambda rect: _SHAPE)
    out = pred.refine(img, [_SHAPE], [canonical_box(_SHAPE)], anchors=[far])
    assert calls == [] and np.array_equal(out[0], _SHAPE)
    out = pred.refine(img, [_SHAPE + 5.0], [(0.0, 0.0, 50.0, 50.0)], anchors=[far])
    assert len(calls) == 2 and np.array_equal(out[0], _SHAPE)  # two passes, the last one settling
    with pytest.raises(ConfigError, match="1 shapes but 2 anchors"):
        pred.refine(img, [_SHAPE], anchors=[None, None])


def test_only_a_detectors_own_five_landmarks_are_an_anchor() -> None:
    from faceprint.landmarkers.five import _anchor
    from faceprint.models.templates import FIVE_IN_UNIT
    from faceprint.types import Face

    five = _similar(np.array(FIVE_IN_UNIT), 100.0, 0.0, (50.0, 50.0)).astype(np.float32)
    box = (40.0, 40.0, 160.0, 170.0)
    got = _anchor(Face(box=box, score=1.0, landmarks=five, landmarks_source="detector"))
    assert got is not None and got.dtype == np.float64
    assert _anchor(Face(box=box, score=1.0, landmarks=five, landmarks_source="shape_predictor")) is None
    assert _anchor(Face(box=box, score=1.0)) is None
    six = np.vstack([five, five[:1]])  # not the standard five points
    assert _anchor(Face(box=box, score=1.0, landmarks=six, landmarks_source="detector")) is None


def _iou(a, b) -> float:
    from faceprint.video.tracker import iou_matrix

    return float(iou_matrix(np.array([a], np.float64), np.array([b], np.float64))[0, 0])


def _face_and_reference(path, near) -> tuple[np.ndarray, np.ndarray]:
    """The default pipeline's embedding (no TTA) of the face at ``near`` (None: its main face), and that of
    dlib's CNN pipeline for the same face."""
    from faceprint import Pipeline

    if near is None:
        [mine] = Pipeline(tta="none").represent(str(path))
    else:
        mine = max(Pipeline(tta="none").represent(str(path), faces="all"), key=lambda r: _iou(r.face.box, near))
    theirs = Pipeline(detector="dlib_mmod", tta="none").represent(str(path), faces="all")
    ref = max(theirs, key=lambda r: _iou(r.face.box, mine.face.box))
    assert _iou(ref.face.box, mine.face.box) > 0.3 and (near is None or _iou(mine.face.box, near) > 0.5)
    return np.asarray(mine.embedding), np.asarray(ref.embedding)


@needs_faces
@pytest.mark.parametrize(
    ("path", "near"), [(FILLS_FRAME, None), (PROFILE, (291, 132, 525, 436))], ids=["fills-frame", "profile"]
)
def test_unsettled_faces_get_the_chip_of_dlibs_own_cnn_pipeline(path, near, monkeypatch: pytest.MonkeyPatch) -> None:
    import faceprint.alignment

    if not path.is_file():
        pytest.skip(f"fixture photo not found: {path}")
    got, reference = _face_and_reference(path, near)
    assert float(np.linalg.norm(got - reference)) < 0.15
    monkeypatch.setattr(faceprint.alignment, "UNSETTLED", float("inf"))  # the check off: as before
    before, _ = _face_and_reference(path, near)
    assert float(np.linalg.norm(before - reference)) > 0.5
