"""find() and Gallery on real faces: identities/ and ORL, held-out queries, incremental sync, CLI."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ContractError, DependencyError
from faceprint.search.finder import gallery_location
from tests.conftest import FACES, IDENTITIES, needs_faces
from tests.search_helpers import built, link_tree

pytestmark = [needs_faces, pytest.mark.skipif(not (FACES / "orl").is_dir(), reason=f"ORL faces not found at {FACES}")]


@pytest.fixture(scope="session")
def ids(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return built("identities", str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="session")
def orl(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return built("orl", str(tmp_path_factory.getbasetemp()))


def _top1_vs_verification(data: dict) -> tuple[float, list[str]]:
    """Top-1 accuracy of held-out queries, and the queries that broke the rule "top-1 is right whenever
    the query verifies against its own identity and against no other" (checked with plain pairwise distances)."""
    from faceprint.search import Gallery
    from faceprint.verification import distance_matrix

    with Gallery(data["gallery"]) as g:
        thr = g.search(data["queries"][0][2].embedding, k=1)[0].best.threshold
        stored = list(g)  # every stored vector, for the brute-force reference
        vecs = np.stack([v for _, v in stored])
        idents = [e.identity for e, _ in stored]
        right, broken = 0, []
        for path, ident, rep in data["queries"]:
            best = g.search([rep], k=1)[0].best
            right += best.identity == ident
            d = distance_matrix(rep.embedding[None], np.asarray(vecs, np.float64), g.contract.metric)[0]
            own = min(x for x, who in zip(d, idents) if who == ident)
            other = min(x for x, who in zip(d, idents) if who != ident)
            assert best.distance == pytest.approx(min(own, other), abs=1e-4)  # search == brute force
            if own <= thr < other and best.identity != ident:
                broken.append(path.name)
    return right / len(data["queries"]), broken


def test_identities_index_report(ids: dict) -> None:
    r = ids["report"]
    assert r.indexed == len(ids["enrolled"]) and r.errors == () and r.no_face == ()
    assert r.faces == r.indexed  # faces="largest": one face per photo


def test_identities_top1_agrees_with_verification(ids: dict, record_property) -> None:
    acc, broken = _top1_vs_verification(ids)
    record_property("top1_identities", acc)
    print(f"\nidentities: top-1 {acc:.3f} on {len(ids['queries'])} held-out photos")
    assert not broken
    assert acc >= 0.75


def test_orl_top1_agrees_with_verification(orl: dict, record_property) -> None:
    acc, broken = _top1_vs_verification(orl)
    record_property("top1_orl", acc)
    print(f"\nORL: top-1 {acc:.3f} on {len(orl['queries'])} held-out photos")
    assert not broken
    assert acc >= 0.8


def test_orl_identity_aggregation(orl: dict) -> None:
    from faceprint.search import Gallery

    with Gallery(orl["gallery"]) as g:
        rep = orl["queries"][0][2]
        per_face = g.search([rep], k=4)[0]
        for how in ("min", "mean"):
            per_id = g.search([rep], k=3, aggregate=how)[0]
            assert len({m.identity for m in per_id}) == len(per_id) == 3
            assert [m.distance for m in per_id] == sorted(m.distance for m in per_id)
        best = g.search([rep], k=3, aggregate="min")[0].best
        assert best.distance == pytest.approx(per_face.best.distance) and best.count >= 1
        assert g.stats().identities == 20 and g.stats().entries == 80


def test_find_on_gallery_and_pandas(ids: dict) -> None:
    import faceprint

    path, ident, _ = ids["queries"][0]
    res = faceprint.find(str(path), db=str(ids["gallery"]), k=3)
    assert len(res) >= 1 and len(res[0]) == 3
    m = res[0].best
    assert m.identity == ident and m.verified == (m.distance <= m.threshold)
    assert m.metric == "euclidean" and m.threshold == pytest.approx(0.588)  # the default tta="flip"
    json.dumps([r.to_dict() for r in res])
    pytest.importorskip("pandas")
    df = res[0].to_pandas()
    assert df["label"].iloc[0] == ident and {"identity", "distance", "verified", "threshold"} <= set(df.columns)


def test_to_pandas_without_pandas(ids: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceprint.search.types import FaceMatches

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(DependencyError, match="pandas"):
        FaceMatches(()).to_pandas()


def test_group_photo_gives_one_result_per_face(ids: dict) -> None:
    from faceprint.search import Gallery

    with Gallery(ids["gallery"]) as g:
        res = g.search(IDENTITIES / "couple.jpg", k=2)
    assert len(res) == 2 and all(fm.face is not None for fm in res)


def test_contract_refuses_other_settings(ids: dict) -> None:
    from faceprint.search import Gallery

    with pytest.raises(ContractError, match="metric"):
        Gallery(ids["gallery"], metric="cosine")
    with pytest.raises(ContractError, match="alignment"):
        Gallery(ids["gallery"], align="none")


def test_incremental_sync_and_find_on_folder(ids: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import faceprint
    from faceprint.search import Gallery

    (a, ia), (b, ib), c = ids["enrolled"][0], ids["enrolled"][5], ids["enrolled"][12][0]
    tree = tmp_path / "photos"
    for src, ident in ((a, ia), (b, ib)):
        (tree / ident).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, tree / ident / src.name)  # real files: the test edits them (tmp only)
    (tree / "notes.log").write_text("not a photo")
    res = faceprint.find(str(c), db=str(tree), k=1)  # indexes the folder on the way
    assert res[0].best.file.startswith(str(tree))
    where = Path(gallery_location(tree))  # under $FACEPRINT_HOME: the photo folder is not written to
    embedded: list[str] = []
    real = Gallery._embed

    def counting(self, source, **kw):
        embedded.append(str(source))
        return real(self, source, **kw)

    monkeypatch.setattr(Gallery, "_embed", counting)
    with Gallery(where) as g:
        r = g.sync(tree)
        assert (r.indexed, r.unchanged, embedded) == (0, 2, [])
        assert r.skipped and "not an image" in r.skipped[0][1]
        f1 = tree / ia / a.name
        f1.write_bytes(f1.read_bytes())  # new mtime, same bytes: hashed, not re-embedded
        r = g.sync(tree)
        assert (r.indexed, r.unchanged, embedded) == (0, 2, [])
        shutil.copyfile(c, f1)  # new content under the same name: re-embedded, old entry replaced
        r = g.sync(tree)
        assert (r.indexed, len(embedded), len(g)) == (1, 1, 2)
        assert g.search(str(c), k=1)[0].best.distance == pytest.approx(0.0, abs=1e-4)
        (tree / ib / b.name).unlink()
        r = g.sync(tree)
        assert (r.removed, len(g)) == (1, 1)
        (tree / ib / "broken.jpg").write_bytes(b"not a jpeg")
        r = g.sync(tree)
        assert len(r.errors) == 1 and "broken.jpg" in r.errors[0][0]
        assert g.stats().error_files == 1 and len(g) == 1  # bad input lost nothing stored


def test_cli_index_and_find(ids: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from faceprint.cli import main

    path, ident, _ = ids["queries"][1]
    assert main(["find", str(path), "--db", str(ids["gallery"]), "-k", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["matches"][0]["identity"] == ident and len(out[0]["matches"]) == 2
    assert main(["find", str(path), "--db", str(ids["gallery"]), "-k", "1"]) == 0
    assert ident in capsys.readouterr().out
    assert main(["index", str(tmp_path / "missing")]) == 2
    assert main(["find", str(path), "--db", str(ids["gallery"]), "--metric", "cosine"]) == 2  # contract
    assert "contract" in capsys.readouterr().err
    assert main(["find", str(tmp_path / "nope.jpg"), "--db", str(ids["gallery"])]) == 2
    small = link_tree(tmp_path / "small", ids["enrolled"][:2])
    assert main(["index", str(small)]) == 0
    assert "indexed 2 file(s)" in capsys.readouterr().out


def test_add_and_remove_images(ids: dict, tmp_path: Path) -> None:
    import cv2

    from faceprint.errors import ConfigError
    from faceprint.search import Gallery

    (a, _), (b, _) = ids["enrolled"][0], ids["enrolled"][20]
    with Gallery(tmp_path / "g") as g:
        assert len(g.search(str(a), k=3)[0]) == 0  # empty gallery: no matches, no error
        r = g.add([str(a), str(tmp_path / "missing.jpg")], identity="zed")
        assert (r.indexed, r.faces, len(r.errors)) == (1, 1, 1) and "missing.jpg" in r.errors[0][0]
        with pytest.raises(ConfigError, match="identity"):
            g.add(cv2.imread(str(b)))
        r = g.add(cv2.imread(str(b)), identity="yan")
        assert r.faces == 1 and len(g) == 2
        best = g.search(str(a), k=5)[0]
        assert len(best) == 2 and best.best.identity == "zed" and best.best.file == str(a)
        assert g.remove(str(a)) == 1 and g.remove(identity="yan") == 1 and len(g) == 0


def test_find_with_anti_spoofing(ids: dict) -> None:
    import faceprint

    pytest.importorskip("torch", reason="the anti-spoofing models run on PyTorch")
    path, ident, rep = ids["queries"][0]
    res = faceprint.find(str(path), db=str(ids["gallery"]), k=1, anti_spoofing=True)
    face = res[0].face
    assert face is not None and face.is_real is not None and 0.0 <= face.antispoof_score <= 1.0
    assert res[0].best.identity == ident
    from faceprint.search import Gallery

    with Gallery(ids["gallery"]) as g, pytest.raises(faceprint.ConfigError, match="image query"):
        g.search([rep], k=1, anti_spoofing=True)
