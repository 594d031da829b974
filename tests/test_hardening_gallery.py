"""A damaged gallery is detected (typed error naming the file and the fix), never a wrong match; galleries
keep biometric data private and out of photo folders; one writer per folder; passwords never shown."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import EmptyGalleryError, StoreError
from tests.conftest import FACES
from tests.search_helpers import unit

ORL = FACES / "orl"
needs_orl = pytest.mark.skipif(not ORL.is_dir(), reason=f"ORL faces not found at {ORL}")


def _vector_gallery(where: Path, batches: int = 5, per: int = 20, metric: str = "cosine") -> np.ndarray:
    from faceprint.search import Gallery

    v = unit(batches * per, 128)
    with Gallery(where, metric=metric) as g:
        for b in range(batches):  # one committed batch (and checksum block) each
            sl = slice(b * per, (b + 1) * per)
            g.add_vectors(v[sl], [f"p{i % 7}" for i in range(sl.start, sl.stop)],
                          keys=[f"k{i}" for i in range(sl.start, sl.stop)])  # fmt: skip
    return v


def _vector_file(where: Path) -> Path:
    return next(where.glob("vectors.*.f32"))


def _search_or_raise(where: Path, q: np.ndarray, metric: str = "cosine") -> list:
    from faceprint.search import Gallery

    with Gallery(where, metric=metric) as g:
        return g.search(vectors=q, k=1)


def _damage(kind: str, where: Path, v: np.ndarray) -> None:
    f = _vector_file(where)
    raw = np.memmap(f, np.float32, "r+", shape=v.shape)
    if kind == "overwrite":  # same size, other bytes
        raw[:] = unit(len(v), 128, seed=99)
    elif kind == "nan":
        raw[37] = np.nan
    elif kind == "swap":  # another person's vector in k3's place, and back
        raw[[3, 64]] = raw[[64, 3]]
    elif kind == "one_value":
        raw[81, 5] += 0.25
    raw.flush()
    del raw


@pytest.mark.parametrize("kind", ["overwrite", "nan", "swap", "one_value"])
def test_damaged_vectors_raise_never_match(tmp_path: Path, kind: str) -> None:
    where = tmp_path / "g"
    v = _vector_gallery(where, batches=30, per=4)  # more blocks than the open-time sample
    _damage(kind, where, v)
    with pytest.raises(StoreError) as err:
        _search_or_raise(where, v[[3, 37, 64, 81]])
    msg = str(err.value)
    assert "damaged" in msg and _vector_file(where).name in msg and "--rebuild" in msg


@pytest.mark.parametrize("kind", ["truncate", "garbage", "bad_json", "rows_past_end", "layout_gone"])
def test_damaged_metadata_typed_errors(tmp_path: Path, kind: str) -> None:
    where = tmp_path / "g"
    _vector_gallery(where, batches=2)
    db = where / "gallery.sqlite"
    if kind in ("truncate", "garbage"):
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3] if kind == "truncate" else os.urandom(len(data)))
    else:
        con = sqlite3.connect(db)
        sql = {"bad_json": "UPDATE meta SET value = '{\"dim\": 12' WHERE key = 'layout'",
               "rows_past_end": "UPDATE entries SET row = row + 1000 WHERE id = 1",
               "layout_gone": "UPDATE meta SET value = '[]' WHERE key = 'layout'"}[kind]  # fmt: skip
        con.execute(sql)
        con.commit()
        con.close()
    with pytest.raises(StoreError) as err:
        _search_or_raise(where, unit(1, 128))
    msg = str(err.value)
    assert "gallery.sqlite" in msg and ("corrupt" in msg or "damaged" in msg) and "writable" not in msg


def test_sound_gallery_checks_clean_and_legacy_rows_get_checksums(tmp_path: Path) -> None:
    from faceprint.search import Gallery

    where = tmp_path / "g"
    v = _vector_gallery(where)
    with Gallery(where, metric="cosine") as g:
        assert g.check()["problems"] == [] and g.check()["rows_without_checksum"] == 0
        assert g.search(vectors=v[7], k=1)[0].best.file == "k7"
    con = sqlite3.connect(where / "gallery.sqlite")  # as an older version left it: no checksums
    con.execute("DELETE FROM blocks")
    con.commit()
    con.close()
    with Gallery(where, metric="cosine") as g:
        assert g.check()["rows_without_checksum"] == len(v)
        g.rebuild()
        assert g.check() == {**g.check(), "rows_without_checksum": 0, "problems": []}
        assert g.search(vectors=v[7], k=1)[0].best.file == "k7"


def test_empty_gallery_says_so(tmp_path: Path) -> None:
    import faceprint
    from faceprint.cli import main
    from faceprint.search import Gallery

    with Gallery(tmp_path / "g"):
        pass
    img = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(EmptyGalleryError, match="empty"):
        faceprint.find(img, db=str(tmp_path / "g"))
    (tmp_path / "nofaces").mkdir()
    with pytest.raises(EmptyGalleryError, match="empty"):
        faceprint.find(img, db=str(tmp_path / "nofaces"))
    assert main(["find", str(tmp_path / "any.jpg"), "--db", str(tmp_path / "g")]) == 2


def test_gallery_files_private_and_not_in_photo_folder(tmp_path: Path) -> None:
    import faceprint
    from faceprint.search import Gallery

    where = tmp_path / "g"
    _vector_gallery(where, batches=1)
    with Gallery(where, metric="cosine", index="hnsw") as g:
        g.search(vectors=unit(1, 128), k=1)
        assert stat.S_IMODE(where.stat().st_mode) == 0o700
        for f in where.iterdir():
            assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f"{f.name} is readable by others"
    photos = tmp_path / "photos"
    (photos / "x").mkdir(parents=True)
    with pytest.raises(EmptyGalleryError):
        faceprint.find(np.zeros((64, 64, 3), np.uint8), db=str(photos))
    assert not (photos / ".faceprint").exists() and list(photos.iterdir()) == [photos / "x"]
    assert list((Path(os.environ["FACEPRINT_HOME"]) / "galleries").glob("photos-*/dlib-*/gallery.sqlite"))


def test_vectors_argument_and_float_images(tmp_path: Path) -> None:
    import faceprint
    from faceprint.errors import ConfigError, NoFaceError
    from faceprint.search import Gallery

    where = tmp_path / "g"
    v = _vector_gallery(where, batches=1)
    with Gallery(where, metric="cosine") as g:
        assert [fm.best.file for fm in g.search(vectors=v[:3], k=1)] == ["k0", "k1", "k2"]
        with pytest.raises(ConfigError, match="exactly one"):
            g.search(v[:3], vectors=v[:3])
    grey = np.random.default_rng(0).random((300, 128)).astype(np.float32)  # a float image 128 px wide
    with pytest.raises(NoFaceError):  # searched as the image it is, not as 300 embeddings
        faceprint.find(grey, db=str(where), metric="cosine")


@needs_orl
def test_two_writers_one_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint.search import Gallery

    tree = tmp_path / "photos"
    for s in ("s3", "s4"):
        (tree / s).mkdir(parents=True)
        for i in (1, 2):
            (tree / s / f"{i}.png").symlink_to(ORL / s / f"{i}.png")
    embedded: list[str] = []
    real = Gallery._embed

    def counting(self, source, **kw):
        embedded.append(str(source))
        return real(self, source, **kw)

    monkeypatch.setattr(Gallery, "_embed", counting)
    Gallery(tmp_path / "g").close()
    reports = []

    def writer() -> None:
        with Gallery(tmp_path / "g") as g:
            reports.append(g.sync(tree))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(r.indexed for r in reports) == [0, 4] and len(embedded) == 4
    with Gallery(tmp_path / "g") as g:
        assert len(g) == 4 and g.stats().backend["deleted_rows"] == 0


@needs_orl
def test_cli_check_and_rebuild_repair_a_damaged_gallery(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from faceprint.cli import main
    from faceprint.search.finder import gallery_location

    tree = tmp_path / "photos"
    for s in ("s5", "s6"):
        (tree / s).mkdir(parents=True)
        (tree / s / "1.png").symlink_to(ORL / s / "1.png")
    query = str(ORL / "s5" / "1.png")
    assert main(["index", str(tree)]) == 0
    where = Path(gallery_location(tree))
    assert f"gallery: {where}" in capsys.readouterr().out
    assert main(["gallery", "check", "--db", str(where)]) == 0
    f = next(where.glob("vectors.*"))
    f.write_bytes(os.urandom(f.stat().st_size))  # same size, other bytes
    assert main(["gallery", "check", "--db", str(where)]) == 1
    out = capsys.readouterr().out
    assert "DAMAGED" in out and "--rebuild" in out
    assert main(["find", query, "--db", str(tree), "-k", "1"]) == 1
    err = capsys.readouterr().err
    assert f.name in err and "--rebuild" in err and "Traceback" not in err
    assert main(["index", str(tree), "--rebuild"]) == 0
    assert main(["gallery", "check", "--db", str(where)]) == 0
    capsys.readouterr()
    assert main(["find", query, "--db", str(tree), "-k", "1"]) == 0
    assert "MATCH s5" in capsys.readouterr().out
    (where / "gallery.sqlite").write_bytes(b"garbage" * 100)  # a corrupt database: moved aside, made anew
    assert main(["find", query, "--db", str(tree), "-k", "1"]) == 1
    assert "corrupt" in capsys.readouterr().err
    assert main(["index", str(tree), "--rebuild"]) == 0
    assert list(where.parent.glob(f"{where.name}.damaged-*"))
    assert main(["find", query, "--db", str(tree), "-k", "1"]) == 0
