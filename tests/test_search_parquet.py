"""The Parquet shard gallery without Ray: same Gallery API, exact answers, crash-safe rewrites."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ContractError
from faceprint.search.vector_index import exact_search
from tests.search_helpers import unit

pytest.importorskip("pyarrow", reason="pyarrow not installed (pip install 'faceprint[ray]')")


def _gallery(path: Path, **kw):
    from faceprint.search import Gallery

    return Gallery(f"parquet:{path}", metric=kw.pop("metric", "cosine"), **kw)


def test_parquet_gallery_search_remove_reopen(tmp_path: Path) -> None:
    v = unit(1200, 128)
    q = unit(20, 128, seed=4)
    ids = []
    with _gallery(tmp_path / "g") as g:
        for s in range(0, 1200, 300):
            ids += g.add_vectors(v[s : s + 300], [f"p{i % 40}" for i in range(s, s + 300)],
                                 keys=[f"k{i}" for i in range(s, s + 300)])  # fmt: skip
        assert len(g) == 1200 and g.stats().identities == 40 and g.stats().backend["shards"] == 4
        _, l_ref = exact_search(v, np.array(ids), q, 5, "cosine")
        assert [[m.entry_id for m in fm] for fm in g.search(vectors=q, k=5)] == l_ref.tolist()
        assert g.remove(["k0", "k1"]) == 2 and g.remove(identity="p7") == 30
        assert g.search(v[0], k=1)[0].best.file != "k0"
        assert g.rebuild()["entries"] == 1168
    with pytest.raises(ContractError, match="metric"):
        _gallery(tmp_path / "g", metric="euclidean")
    with _gallery(tmp_path / "g") as g:
        assert len(g) == 1168 and g.search(v[5], k=1)[0].best.file == "k5"
        assert len(list(g)) == 1168


def test_parquet_crash_leftovers_are_ignored(tmp_path: Path) -> None:
    v = unit(100, 128)
    with _gallery(tmp_path / "g") as g:
        g.add_vectors(v[:50], "a", keys=[f"a{i}" for i in range(50)])
        g.add_vectors(v[50:], "b", keys=[f"b{i}" for i in range(50)])
        old = sorted((tmp_path / "g").glob("part-*.parquet"))
        saved = [p.read_bytes() for p in old]
        g.remove(["a3"])  # rewrites the first shard into a new one that names it as replaced
    for p, data in zip(old, saved):  # a crash before the replaced shard was deleted: it comes back
        p.write_bytes(data)
    (tmp_path / "g" / ".part-00000009-deadbeef.parquet.tmp").write_bytes(b"torn write")
    with _gallery(tmp_path / "g") as g:
        assert len(g) == 99 and g.search(v[3], k=1)[0].best.file != "a3"


def test_parquet_refuses_foreign_shard(tmp_path: Path) -> None:
    v = unit(20, 128)
    with _gallery(tmp_path / "g") as g:
        g.add_vectors(v, "a")
    with _gallery(tmp_path / "other", model="dlib", align="eye_line") as o:
        o.add_vectors(v, "b")
    foreign = next((tmp_path / "other").glob("part-*.parquet"))
    shutil.copy(foreign, tmp_path / "g" / foreign.name.replace("part-00000000", "part-00000007"))
    with _gallery(tmp_path / "g") as g, pytest.raises(ContractError, match="made under embedding contract"):
        g.search(v[0], k=1)


def test_parquet_file_record_upsert_keeps_faces(tmp_path: Path) -> None:
    from faceprint.search.backends.parquet import ParquetStore
    from faceprint.search.types import FileRecord

    st = ParquetStore(tmp_path / "s", dim=128, metric="cosine")
    paths = [f"/photos/{i}.jpg" for i in range(5)]
    st.apply(files=[FileRecord(p, 1, 0.0, f"h{i}", "ok", 1) for i, p in enumerate(paths)],
             entries=[(p, "x", 0, None, 0.0) for p in paths], vectors=unit(5, 128))  # fmt: skip
    st.apply(files=[FileRecord(paths[2], 1, 9.0, "h2", "ok", 1)])  # touched: new mtime, same content
    assert st.count() == 5 and st.files()[paths[2]].mtime == 9.0 and len(st.files()) == 5
    st.apply(remove_keys=[paths[3]])
    assert st.count() == 4 and paths[3] not in st.files()
