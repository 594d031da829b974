"""The Milvus gallery (pymilvus.MilvusClient) on a local milvus-lite file: same API, same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ContractError
from faceprint.search.vector_index import exact_search
from tests.search_helpers import unit

pytest.importorskip("pymilvus", reason="pymilvus not installed (pip install pymilvus milvus-lite)")
pytest.importorskip("milvus_lite", reason="milvus-lite not installed (pip install milvus-lite)")


def _gallery(path: Path, **kw):
    from faceprint.search import Gallery

    return Gallery(f"milvus:{path}#faces", metric=kw.pop("metric", "cosine"), **kw)


def test_milvus_lite_gallery(tmp_path: Path) -> None:
    v = unit(1000, 128)
    q = unit(20, 128, seed=9)
    db = tmp_path / "g.db"
    with _gallery(db) as g:
        ids = g.add_vectors(v, [f"p{i % 50}" for i in range(1000)], keys=[f"k{i}" for i in range(1000)])
        assert len(g) == 1000 and g.stats().identities == 50
        res = g.search(vectors=q, k=5)
        d_ref, l_ref = exact_search(v, np.array(ids), q, 5, "cosine")
        recall = np.mean([len({m.entry_id for m in fm} & set(r)) / 5 for fm, r in zip(res, l_ref)])
        assert recall >= 0.95
        np.testing.assert_allclose(res[0].best.distance, d_ref[0, 0], atol=1e-4)
        assert g.remove(["k0"]) == 1 and g.remove(identity="p3") == 20
        assert g.search(v[0], k=1)[0].best.file != "k0"
        assert g.rebuild()["recall@1"] >= 0.9
    with pytest.raises(ContractError):
        _gallery(db, metric="euclidean")
    with _gallery(db) as g:
        assert len(g) == 979
        assert g.search(v[5], k=1)[0].best.file == "k5"


def test_milvus_euclidean(tmp_path: Path) -> None:
    from faceprint.verification import distance_matrix

    v = unit(100, 128) * 0.8
    with _gallery(tmp_path / "e.db", metric="euclidean") as g:
        g.add_vectors(v, "x")
        got = [m.distance for m in g.search(v[3] * 1.1, k=3)[0]]
    np.testing.assert_allclose(got, np.sort(distance_matrix((v[3] * 1.1)[None], v, "euclidean")[0])[:3], atol=1e-4)
