"""Gallery storage on synthetic vectors: embedded store, index kinds, contract, crash safety (no faces needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ConfigError, ContractError, StoreError
from faceprint.search.vector_index import exact_search
from tests.search_helpers import kill_during_bulk_add, unit

pytest.importorskip("faiss", reason="faiss-cpu not installed (pip install 'faceprint[search]')")


def _gallery(path: Path, **kw):
    from faceprint.search import Gallery

    return Gallery(path, metric=kw.pop("metric", "cosine"), **kw)


def test_add_search_matches_numpy_exact(tmp_path: Path) -> None:
    v = unit(500, 128)
    with _gallery(tmp_path / "g") as g:
        ids = g.add_vectors(v, [f"p{i % 50}" for i in range(500)], keys=[f"k{i}" for i in range(500)])
        assert len(ids) == 500 and len(g) == 500
        q = unit(20, 128, seed=1)
        res = g.search(vectors=q, k=5)
        d_ref, l_ref = exact_search(v, np.array(ids), q, 5, "cosine")
        for fm, dr, lr in zip(res, d_ref, l_ref):
            assert [m.entry_id for m in fm] == list(lr)
            np.testing.assert_allclose([m.distance for m in fm], dr, atol=1e-5)
            assert all(m.metric == "cosine" and m.threshold == pytest.approx(0.0675) for m in fm)  # tta="flip"


def test_remove_rebuild_and_reopen(tmp_path: Path) -> None:
    v = unit(300, 128)
    keys = [f"k{i}" for i in range(300)]
    with _gallery(tmp_path / "g") as g:
        g.add_vectors(v, [f"p{i % 30}" for i in range(300)], keys=keys)
        assert g.remove(["k0", "k1"]) == 2
        assert g.remove(identity="p5") == 10
        assert g.search(v[0], k=1)[0].best.file != "k0"
        report = g.rebuild()
        assert report["rows"] == 288
        assert g.stats().backend["deleted_rows"] == 0
    with _gallery(tmp_path / "g") as g:  # reopened: same answers after compaction
        assert len(g) == 288
        best = g.search(v[2], k=1)[0].best
        assert best.file == "k2" and best.distance == pytest.approx(0.0, abs=1e-5)
        assert g.stats().identities == 29


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "euclidean_l2"])
def test_metrics_agree_with_distance_matrix(tmp_path: Path, metric: str) -> None:
    from faceprint.verification import distance_matrix

    v = unit(100, 128) * 0.9  # not unit length: euclidean must use the raw vectors
    with _gallery(tmp_path / "g", metric=metric) as g:
        g.add_vectors(v, "x", keys=[f"k{i}" for i in range(100)])
        q = unit(3, 128, seed=2)
        ref = np.sort(distance_matrix(q, v, metric), axis=1)[:, :3]
        got = np.array([[m.distance for m in fm] for fm in g.search(vectors=q, k=3)])
        np.testing.assert_allclose(got, ref, atol=1e-4)


def test_hnsw_and_numpy_fallback_and_fp16(tmp_path: Path) -> None:
    v = unit(3000, 64 * 2)
    q = unit(50, 128, seed=3)
    with _gallery(tmp_path / "h", index="auto", hnsw_threshold=1000) as g:
        ids = g.add_vectors(v, "x")
        got = g.search(vectors=q, k=10)
        stats = g.stats().backend["index"]
        assert stats["index"] == "hnsw" and stats["M"] == 32 and stats["efSearch"] >= 128
        assert stats["recall@1"] >= 0.9 and stats["recall@10"] >= 0.9
    _, ref = exact_search(v, np.array(ids), q, 10, "cosine")
    recall = np.mean([len({m.entry_id for m in fm} & set(r)) / 10 for fm, r in zip(got, ref)])
    assert recall >= 0.9
    with _gallery(tmp_path / "h", index="hnsw") as g:  # the saved index is reused, with its recall report
        assert g.search(vectors=q[:1], k=1)[0].best.entry_id == got[0].best.entry_id
        assert "recall@1" in g.stats().backend["index"]
    with _gallery(tmp_path / "n", index="numpy", fp16=True) as g:
        ids = g.add_vectors(v[:200], "x")
        assert g.stats().backend["dtype"] == "float16"
        assert g.stats().backend["vector_bytes"] == 200 * 128 * 2
        assert g.search(v[7], k=1)[0].best.entry_id == ids[7]


def test_contract_mismatch_raises(tmp_path: Path) -> None:
    with _gallery(tmp_path / "g") as g:
        g.add_vectors(unit(3, 128), "x")
        with pytest.raises(ContractError, match="128-d"):
            g.search(unit(1, 64)[0], k=1)
        contract_id = g.contract.id
    with pytest.raises(ContractError):
        _gallery(tmp_path / "g", metric="euclidean")
    with _gallery(tmp_path / "g", detector="yunet") as g:  # detector is recorded, not part of the id
        assert g.contract.id == contract_id
    from faceprint.search import EmbeddingContract

    a = EmbeddingContract.for_model("dlib", metric="cosine")
    assert EmbeddingContract.for_model("dlib_torch", metric="cosine").id == a.id  # same weights, same space
    assert EmbeddingContract.for_model("dlib", metric="cosine", align="none").id != a.id
    with pytest.raises(ContractError, match="alignment"):
        a.check(EmbeddingContract.for_model("dlib", metric="cosine", align="none"))


def test_bad_vectors_store_nothing(tmp_path: Path) -> None:
    with _gallery(tmp_path / "g") as g:
        g.add_vectors(unit(5, 128), "x")
        bad = unit(2, 128)
        bad[1, 0] = np.nan
        with pytest.raises(ConfigError, match="NaN"):
            g.add_vectors(bad, "y")
        with pytest.raises(ConfigError, match="identities"):
            g.add_vectors(unit(2, 128), ["a"])
        assert len(g) == 5
    with pytest.raises(ConfigError, match="folder"):
        _gallery(tmp_path / "g" / "gallery.sqlite")


def test_torn_tail_is_ignored_and_truncation_detected(tmp_path: Path) -> None:
    v = unit(10, 128)
    with _gallery(tmp_path / "g") as g:
        g.add_vectors(v, "x")
    vec_file = next((tmp_path / "g").glob("vectors.*"))
    with open(vec_file, "ab") as f:  # half a vector, as a killed writer might leave
        f.write(b"\x01" * 300)
    with _gallery(tmp_path / "g") as g:
        assert len(g) == 10
        g.add_vectors(v[:2], "y")
        assert g.search(v[0], k=2)[0].matches[0].distance == pytest.approx(0.0, abs=1e-5)
        assert vec_file.stat().st_size == 12 * 128 * 4
    with open(vec_file, "r+b") as f:
        f.truncate(5 * 128 * 4)
    with pytest.raises(StoreError, match="truncated"):
        _gallery(tmp_path / "g")


def test_store_protocol(tmp_path: Path) -> None:
    from faceprint.search.backends.base import Store

    with _gallery(tmp_path / "g") as g:
        assert isinstance(g.store, Store)


@pytest.mark.parametrize("run", range(3))
def test_kill_9_during_bulk_add_loses_nothing_acknowledged(tmp_path: Path, run: int) -> None:
    for round_ in range(2):  # the second writer appends to what the first left behind
        kill_during_bulk_add(str(tmp_path / "g"), tmp_path, seed=run * 10 + round_)


def test_reader_sees_one_commit_while_another_process_writes(tmp_path: Path) -> None:
    """A commit landing between the reader's queries must not mix two states (it once raised IndexError)."""
    with _gallery(tmp_path / "g") as writer, _gallery(tmp_path / "g") as reader:
        writer.add_vectors(unit(50, 128), ["a"] * 50, keys=[f"a{i}" for i in range(50)])
        store = reader.store
        real = store.db

        class CommitsMidRead:  # another writer commits right before the reader lists the entries
            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

            def execute(self, sql: str, *args: object) -> object:
                if sql.startswith("SELECT row, id FROM entries"):
                    writer.add_vectors(unit(50, 128, seed=2), ["b"] * 50, keys=[f"b{i}" for i in range(50)])
                return real.execute(sql, *args)

        store.db = CommitsMidRead()
        try:
            store._refresh()
        finally:
            store.db = real
        assert len(reader.search(vectors=unit(1, 128), k=100)[0]) in (50, 100)
