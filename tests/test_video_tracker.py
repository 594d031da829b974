"""Tracker association rules, on synthetic boxes (unit tests of the logic; the real videos are in test_video.py)."""

from __future__ import annotations


def _face(x: float, y: float, s: float = 60.0, score: float = 0.9):
    from faceprint.types import Face

    return Face(box=(x, y, x + s, y + s), score=score)


def test_tracker_survives_missed_detections_and_ignores_one_frame_noise() -> None:
    from faceprint.video import Tracker

    t = Tracker(max_age=10)
    ids = []
    for i in range(30):
        faces = [] if 10 <= i < 16 else [_face(10 + 5 * i, 50)]  # six frames unseen while moving on
        if i == 5:
            faces.append(_face(300, 300))  # a false positive seen once
        visible, _ = t.update(faces, i, i / 25)
        ids += [v.id for v in visible]
    assert set(ids) == {1}


def test_tracker_keeps_two_crossing_faces_apart_and_ends_lost_tracks() -> None:
    from faceprint.video import Tracker

    t = Tracker(max_age=3)
    seen: dict[int, set] = {}
    for i in range(40):
        a, b = _face(10 + 8 * i, 50), _face(330 - 8 * i, 130)  # one above the other, passing
        visible, _ = t.update([a, b], i, i / 25)
        for v in visible:
            seen.setdefault(v.id, set()).add("a" if v.face.box[1] == 50 else "b")
    assert all(len(s) == 1 for s in seen.values()) and len(seen) == 2
    ended = []
    for i in range(40, 45):
        ended += t.update([], i, i / 25)[1]
    assert sorted(tr.id for tr in ended) == sorted(seen)
