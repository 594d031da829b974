"""Photo folders as they really are: odd entries are skipped and reported, never crash or hang a sync,
and never change what the clean part of the folder indexes to (a property test)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ImageError
from tests.conftest import FACES
from tests.hardening_helpers import ODD_KINDS, add_odd, deadline, non_utf8_link

ORL = FACES / "orl"
needs_orl = pytest.mark.skipif(not ORL.is_dir(), reason=f"ORL faces not found at {ORL}")
PHOTOS = [(ORL / "s1" / "1.png", "s1"), (ORL / "s1" / "2.png", "s1"), (ORL / "s2" / "1.png", "s2")]


def _tree(root: Path) -> Path:
    for src, ident in PHOTOS:
        (root / ident).mkdir(parents=True, exist_ok=True)
        (root / ident / src.name).symlink_to(src)  # links, never copies of real faces
    return root


def _contents(where: Path) -> dict[tuple[str, str], np.ndarray]:
    from faceprint.search import Gallery

    with Gallery(where) as g:
        return {(e.key, e.identity): v for e, v in g}


def test_load_image_refuses_special_files_without_hanging(tmp_path: Path) -> None:
    from faceprint import load_image

    cases = {kind: add_odd(tmp_path, kind, i, tmp_path / "x.jpg") for i, kind in enumerate(("dangling", "loop", "fifo",
                                                                                              "socket"))}  # fmt: skip
    for path, word in cases.values():
        with deadline(5), pytest.raises(ImageError, match=word):
            load_image(path)
        with deadline(5), pytest.raises(ImageError, match=word):
            load_image(str(path))
    with pytest.raises(ImageError, match="is a directory"):
        load_image(tmp_path)


def test_iter_images_one_walker_no_loops(tmp_path: Path) -> None:
    import faceprint
    from faceprint.search.folder import walk_images

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"x")
    (tmp_path / "a" / "up").symlink_to("..")  # a loop for a walker that follows folder links
    os.mkfifo(tmp_path / "a" / "pipe.jpg")
    with deadline(10):
        found = list(faceprint.iter_images(tmp_path))
        walked = list(walk_images(tmp_path))
    assert found == [tmp_path / "a" / "1.jpg"]  # once, and no FIFO
    assert [p for p, why in walked if why is None] == found  # the gallery walks the same way
    assert {p.name: why for p, why in walked if why}.keys() == {"pipe.jpg", "up"}


@needs_orl
def test_sync_skips_and_reports_odd_entries(tmp_path: Path) -> None:
    from faceprint.files import key_path
    from faceprint.search import Gallery

    tree = _tree(tmp_path / "photos")
    expected = {}
    for i, kind in enumerate(ODD_KINDS):
        path, word = add_odd(tree / "s2", kind, i, PHOTOS[0][0])
        if word:
            expected[path.name] = word
    odd_name = non_utf8_link(tree / "s1", PHOTOS[2][0])
    with deadline(120), Gallery(tmp_path / "g") as g:
        r = g.sync(tree)
        assert r.errors == () and r.no_face == ()
        reasons = {Path(key_path(k)).name: why for k, why in r.skipped}
        for name, word in expected.items():
            assert word in reasons[name], (name, reasons)
        keys = {e.key for e, _ in g}
        fs_keys = [k for k in keys if k.startswith("fsenc:")]
        assert len(fs_keys) == 2 and str(odd_name) in {key_path(k) for k in fs_keys}  # lossless
        assert r.indexed == len(PHOTOS) + 2
        again = g.sync(tree)  # a second run neither crashes nor re-embeds
        assert (again.indexed, again.unchanged) == (0, len(PHOTOS) + 2)
        hit = g.search(str(PHOTOS[2][0]), k=2)[0]
        assert {m.file for m in hit.matches if m.distance < 1e-4} >= {next(k for k in fs_keys if "s1" in k)}


@needs_orl
def test_property_odd_entries_never_change_the_gallery(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Indexing a folder with random odd entries gives the clean folder's gallery, plus the skip report
    (and the non-UTF-8 links, which are photos: stored under their own keys with their target's vectors)."""
    hypothesis = pytest.importorskip("hypothesis", reason="hypothesis not installed (pip install hypothesis)")
    from hypothesis import strategies as st

    from faceprint.files import key_path
    from faceprint.search import Gallery

    base = tmp_path_factory.mktemp("prop")
    clean = _tree(base / "clean")
    with Gallery(base / "clean_g") as g:
        g.sync(clean)
    want = {(Path(k).relative_to(clean).as_posix(), ident): v for (k, ident), v in _contents(base / "clean_g").items()}
    runs = iter(range(1000))

    @hypothesis.settings(max_examples=6, deadline=None, database=None)
    @hypothesis.given(st.lists(st.tuples(st.sampled_from(ODD_KINDS), st.sampled_from(["s1", "s2", "s3"])),
                               min_size=1, max_size=6))  # fmt: skip
    def check(odd: list[tuple[str, str]]) -> None:
        run = next(runs)
        tree = _tree(base / f"t{run}")
        words, links = [], 0
        for i, (kind, where) in enumerate(odd):
            _, word = add_odd(tree / where, kind, i, PHOTOS[0][0])
            words += [word] if word else []
            links += word is None
        with deadline(120), Gallery(base / f"g{run}") as g:
            r = g.sync(tree)
        got = _contents(base / f"g{run}")
        plain = {(Path(k).relative_to(tree).as_posix(), i): v for (k, i), v in got.items() if not k.startswith("fsenc:")}
        assert plain.keys() == want.keys()
        for k, v in want.items():
            np.testing.assert_allclose(plain[k], v, atol=1e-6)
        odd_vecs = [v for (k, _), v in got.items() if k.startswith("fsenc:")]
        assert len(odd_vecs) == links and all(np.allclose(v, want[("s1/1.png", "s1")], atol=1e-6) for v in odd_vecs)
        assert sorted(w for w in words) == sorted(next(w for w in words if w in why) for _, why in r.skipped)
        assert all(key_path(k) for k, _ in r.skipped) and r.errors == ()

    check()
