"""Milvus stores any Unicode path or identity; PostgreSQL passwords never reach messages, stats or repr."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from faceprint.errors import ContractError, StoreError
from tests.conftest import FACES
from tests.search_helpers import unit

ORL = FACES / "orl"
NAMES = ["café", 'q"uote\\back', "日本\nzeile", "ctl\x01x", "tab\t'"]


def test_milvus_unicode_paths_and_identities(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus", reason="pymilvus not installed (pip install pymilvus milvus-lite)")
    pytest.importorskip("milvus_lite", reason="milvus-lite not installed (pip install milvus-lite)")
    from faceprint.search import Gallery

    loc = f"milvus:{tmp_path / 'u.db'}#faces"
    v = unit(len(NAMES), 128)
    with Gallery(loc, metric="cosine") as g:
        g.add_vectors(v, NAMES, keys=[f"/p/{n}/1.jpg" for n in NAMES])
        for i, n in enumerate(NAMES):
            best = g.search(vectors=v[i], k=1)[0].best
            assert (best.identity, best.file) == (n, f"/p/{n}/1.jpg")
            assert g.store.keys_of_identity(n) == [f"/p/{n}/1.jpg"]
        assert g.remove(f"/p/{NAMES[0]}/1.jpg") == 1 and g.remove(identity=NAMES[2]) == 1 and len(g) == 3
        if ORL.is_dir():  # a real folder named café/, synced twice: stored, then unchanged
            tree = tmp_path / "photos"
            (tree / "café").mkdir(parents=True)
            (tree / "café" / "1.png").symlink_to(ORL / "s7" / "1.png")
            assert g.sync(tree).indexed == 1 and g.sync(tree).unchanged == 1
            assert g.search(str(ORL / "s7" / "1.png"), k=1)[0].best.identity == "café"


def test_pg_password_never_shown(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from faceprint.search import Gallery

    assert pg_url.startswith("postgresql://postgres:@")
    secret = "hunter2-s3cret"  # noqa: S105 - a test value that must never be shown
    url = pg_url.replace("postgres:@", f"postgres:{secret}@", 1)  # trust auth: accepted, must stay hidden
    caplog.set_level(logging.DEBUG, logger="faceprint")
    with Gallery(f"{url}#redact", metric="cosine") as g:
        g.add_vectors(unit(3, 128), "a")
        shown = [repr(g), str(g.stats()), str(g.store.stats()), g.location]
        assert all(secret not in s for s in shown) and "***" in repr(g)
    with pytest.raises(ContractError) as err:
        Gallery(f"{url}#redact", metric="euclidean")
    shown.append(str(err.value))
    bad = url.replace("/postgres?", "/no_such_db?", 1)
    with pytest.raises(StoreError) as err:
        Gallery(f"{bad}#redact", metric="cosine")
    shown.append(str(err.value))
    assert "PGPASSWORD" in str(err.value)
    shown += [r.getMessage() for r in caplog.records]
    assert all(secret not in s for s in shown), [s for s in shown if secret in s]


def test_redact_forms() -> None:
    from faceprint.search.backends.base import redact

    assert redact("postgresql://bob:p@ss@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert redact("at postgres://u:pw@h/d?password=zz&sslmode=require x") == \
        "at postgres://u:***@h/d?password=***&sslmode=require x"  # fmt: skip
    assert redact("postgresql://bob@db/x") == "postgresql://bob@db/x"
    assert np.all([redact("milvus:http://root:Milvus@h:19530") == "milvus:http://root:***@h:19530"])
