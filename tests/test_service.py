"""The REST service against a real uvicorn server on 127.0.0.1: every route, answers equal to the library's,
every bad input's status and problem body, keys and scopes, and the server still serving afterwards."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import struct
import zlib

import numpy as np
import pytest

from tests.conftest import IDENTITIES, needs_faces
from tests.service_helpers import Server, assert_problem, start_server, stop_server

httpx = pytest.importorskip("httpx", reason="httpx not installed (pip install 'faceprint[test]')")
pytestmark = needs_faces


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    s = start_server(tmp_path_factory.mktemp("service"), allow_paths=[str(IDENTITIES)], max_pixels=30_000_000)
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def client(server: Server) -> httpx.Client:
    with httpx.Client(base_url=server.url, headers=server.auth("read"), timeout=120) as c:
        yield c


def photo(name: str) -> bytes:
    return (IDENTITIES / name).read_bytes()


def png_header_only(width: int, height: int) -> bytes:
    """A valid greyscale PNG of this size that compresses to almost nothing (a 'pixel bomb')."""
    raw = zlib.compress(b"\x00" * (width + 1) * height, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def blank_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(buf, "PNG")
    return buf.getvalue()


# -- operations --------------------------------------------------------------------------------------
def test_health_ready_openapi_docs_models(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/verify", "/v1/represent", "/v1/detect", "/v1/analyze", "/v1/galleries",
                 "/v1/galleries/{name}/faces", "/v1/galleries/{name}/faces/{face_id}",
                 "/v1/galleries/{name}/identities/{identity}", "/v1/galleries/{name}/search", "/v1/models"):
        assert path in spec["paths"], path
    verify_body = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(verify_body)
    assert client.get("/docs").status_code == 200
    m = client.get("/v1/models").json()
    assert m["serving"]["recognizer"] == "dlib" and m["serving"]["dim"] == 128
    assert any(s["name"] == "mtcnn" for s in m["registry"])
    r = client.get("/")
    assert r.status_code == 200 and "<main" in r.text
    assert client.get("/static/app.js").status_code == 200


# -- inference equals the library -------------------------------------------------------------------
def test_verify_equals_library(client: httpx.Client, pipeline) -> None:
    for a, b in (("img1.jpg", "img2.jpg"), ("img1.jpg", "img3.jpg")):
        lib = pipeline.verify(IDENTITIES / a, IDENTITIES / b)
        r = client.post("/v1/verify", files={"img1": photo(a), "img2": photo(b)})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["verified"] == lib.verified
        assert got["distance"] == pytest.approx(lib.distance, abs=1e-6)
        assert got["threshold"] == lib.threshold and got["metric"] == lib.metric
        np.testing.assert_allclose([list(f["box"].values())[:4] for f in got["faces"]], [f.box for f in lib.faces], atol=1e-6)
    # JSON with base64 and a data URI, options as JSON values; the booleans as strings in multipart
    j = client.post("/v1/verify", json={"img1": base64.b64encode(photo("img1.jpg")).decode(),
                                        "img2": "data:image/jpeg;base64," + base64.b64encode(photo("img2.jpg")).decode(),
                                        "metric": "cosine"})  # fmt: skip
    lib = pipeline.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg", metric="cosine")
    assert j.status_code == 200 and j.json()["distance"] == pytest.approx(lib.distance, abs=1e-6)
    assert j.json()["threshold"] == lib.threshold


def test_represent_equals_library_float_and_b64(client: httpx.Client, pipeline) -> None:
    lib = pipeline.represent(IDENTITIES / "couple.jpg", faces="all")
    r = client.post("/v1/represent", files={"img": photo("couple.jpg")}, data={"faces": "all"}).json()
    assert r["dim"] == 128 and len(r["faces"]) == len(lib) == 2
    for got, want in zip(r["faces"], lib):
        np.testing.assert_allclose(got["embedding"], want.embedding, atol=1e-6)
        assert got["face"]["box"]["x1"] == pytest.approx(want.face.box[0])
    b = client.post("/v1/represent", json={"img": base64.b64encode(photo("img1.jpg")).decode(), "embedding_format": "b64"}).json()
    v = np.frombuffer(base64.b64decode(b["faces"][0]["embedding"]), "<f4")
    np.testing.assert_allclose(v, pipeline.represent(IDENTITIES / "img1.jpg")[0].embedding, atol=1e-6)


def test_detect_boxes_landmarks_and_crops(client: httpx.Client, pipeline) -> None:
    lib = pipeline.detect(IDENTITIES / "couple.jpg")
    r = client.post("/v1/detect", files={"img": photo("couple.jpg")}, data={"crops": "true"}).json()
    assert len(r["faces"]) == len(lib)
    for got, want in zip(r["faces"], lib):
        assert [got["box"][k] for k in ("x1", "y1", "x2", "y2")] == pytest.approx(list(want.box))
        assert set(got["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
        crop = base64.b64decode(got["crop_png"])
        from PIL import Image

        assert Image.open(io.BytesIO(crop)).size == (150, 150)
    # "false" means false (deepface's form parsing took it as True)
    r = client.post("/v1/detect", files={"img": photo("img1.jpg")}, data={"crops": "false"}).json()
    assert "crop_png" not in r["faces"][0]


def test_analyze_equals_library(client: httpx.Client, pipeline) -> None:
    lib = pipeline.analyze(IDENTITIES / "img1.jpg")
    r = client.post("/v1/analyze", files={"img": photo("img1.jpg")})
    assert r.status_code == 200, r.text
    got = r.json()["faces"]
    assert len(got) == len(lib)
    assert got[0]["age"] == pytest.approx(lib[0].age, abs=1e-4)
    assert got[0]["gender"] == lib[0].gender and got[0]["emotion"] == lib[0].emotion
    assert_problem(client.post("/v1/analyze", files={"img": photo("img1.jpg")}, data={"actions": "height"}), 400, "invalid-option")


def test_enforce_detection_false_string(client: httpx.Client) -> None:
    blank = blank_png()
    assert_problem(client.post("/v1/represent", files={"img": blank}), 422, "no-face")
    assert_problem(client.post("/v1/represent", files={"img": blank}, data={"enforce_detection": "true"}), 422, "no-face")
    r = client.post("/v1/represent", files={"img": blank}, data={"enforce_detection": "false"})
    assert r.status_code == 200 and r.json()["faces"][0]["face"]["detector"] == "none"
    assert_problem(client.post("/v1/represent", files={"img": blank}, data={"enforce_detection": "maybe"}), 400, "invalid-option")


# -- galleries --------------------------------------------------------------------------------------
def test_galleries_enrol_list_search_delete(server: Server, client: httpx.Client, tmp_path) -> None:
    from faceprint.search import Gallery

    admin, write = server.auth("admin"), server.auth("write")
    r = client.post("/v1/galleries", json={"name": "team"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["contract"]["model"] == "dlib"
    assert_problem(client.post("/v1/galleries", json={"name": "team"}, headers=admin), 409, "gallery-exists")
    assert_problem(client.post("/v1/galleries", json={"name": "../etc"}, headers=admin), 400, "invalid-option")
    people = {"p01": ["img1.jpg", "img2.jpg"], "p02": ["img3.jpg"]}
    for ident, files in people.items():
        r = client.post("/v1/galleries/team/faces", data={"identity": ident},
                        files=[("img", (f, photo(f), "image/jpeg")) for f in files], headers=write)  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["faces"] == len(files)
    assert "team" in [g["name"] for g in client.get("/v1/galleries").json()["galleries"]]
    page = client.get("/v1/galleries/team/faces", params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert len(client.get("/v1/galleries/team/faces", params={"offset": 2}).json()["items"]) == 1

    # the same enrolment done by the library gives the same search answer
    lib = Gallery(tmp_path / "lib")
    for ident, files in people.items():
        lib.add([(IDENTITIES / f).read_bytes() for f in files], identity=ident)  # the bytes uploaded
    want = lib.search(IDENTITIES / "img4.jpg", 3, aggregate="min")
    got = client.post("/v1/galleries/team/search", files={"img": photo("img4.jpg")}, data={"k": "3", "aggregate": "min"})
    assert got.status_code == 200, got.text
    gm = got.json()["results"][0]["matches"]
    assert [m["identity"] for m in gm] == [m.identity for m in want[0].matches] and gm[0]["identity"] == "p01"
    np.testing.assert_allclose([m["distance"] for m in gm], [m.distance for m in want[0].matches], atol=1e-6)
    lib.close()

    # search by embedding (JSON floats) equals search by image
    emb = client.post("/v1/represent", files={"img": photo("img4.jpg")}).json()["faces"][0]["embedding"]
    by_vec = client.post("/v1/galleries/team/search", json={"embedding": emb, "k": 3, "aggregate": "min"}).json()
    assert by_vec["results"][0]["matches"][0]["distance"] == pytest.approx(gm[0]["distance"], abs=1e-6)

    # enrol a precomputed embedding, then delete it by id; delete an identity
    r = client.post("/v1/galleries/team/faces", json={"identity": "p09", "embedding": emb}, headers=write)
    assert r.status_code == 201 and r.json()["faces"] == 1
    fid = r.json()["ids"][0]
    assert client.delete(f"/v1/galleries/team/faces/{fid}", headers=write).json() == {"deleted": 1}
    assert_problem(client.delete(f"/v1/galleries/team/faces/{fid}", headers=write), 404, "not-found")
    assert client.delete("/v1/galleries/team/identities/p02", headers=write).json() == {"deleted": 1}
    assert_problem(client.delete("/v1/galleries/team/identities/p02", headers=write), 404, "not-found")
    assert client.get("/v1/galleries/team").json()["entries"] == 2
    # durable: the gallery folder holds what was acknowledged
    with Gallery(server.db / "team") as g:
        assert len(g) == 2 and {e.identity for e, _ in g} == {"p01"}


def test_gallery_errors(server: Server, client: httpx.Client) -> None:
    from faceprint.search import Gallery

    write = server.auth("write")
    assert_problem(client.post("/v1/galleries/nobody/search", files={"img": photo("img1.jpg")}), 404, "gallery-not-found")
    assert_problem(client.post("/v1/galleries/nobody/faces", data={"identity": "x"}, files={"img": photo("img1.jpg")},
                               headers=write), 404, "gallery-not-found")  # fmt: skip
    # a gallery made with another model (512-d ArcFace) is refused, not mixed
    Gallery(server.db / "other", model="arcface_mbf", metric="cosine").close()
    assert_problem(client.post("/v1/galleries/other/search", files={"img": photo("img1.jpg")}), 409, "contract-mismatch")
    listed = {g["name"]: g for g in client.get("/v1/galleries").json()["galleries"]}
    assert listed["other"]["error"] == "contract-mismatch" and "entries" in listed["team"]
    # an embedding of the wrong size
    client.post("/v1/galleries", json={"name": "small"}, headers=server.auth("admin"))
    assert_problem(client.post("/v1/galleries/small/search", json={"embedding": [0.1] * 512}), 409, "contract-mismatch")
    # a photo without a face enrols nothing
    body = assert_problem(client.post("/v1/galleries/small/faces", data={"identity": "x"}, files={"img": blank_png()},
                                      headers=write), 422, "no-face")  # fmt: skip
    assert body["report"]["faces"] == 0


# -- bad inputs -------------------------------------------------------------------------------------
def test_bad_inputs_give_problems_and_server_keeps_serving(server: Server, client: httpx.Client) -> None:
    body = assert_problem(client.post("/v1/represent", files={"img": b"\x89PNG\r\n\x1a\n broken" * 50}), 400, "bad-image")
    assert body["field"] == "img" and "<bytes>" not in body["detail"]
    assert_problem(client.post("/v1/represent", files={"img": b""}), 400, "bad-image")
    assert_problem(client.post("/v1/represent", json={"img": ""}), 400, "bad-image")
    assert_problem(client.post("/v1/represent", json={"img": "not base64 !!"}), 400, "bad-image")
    assert_problem(client.post("/v1/represent", json={}), 400, "invalid-request")
    assert_problem(client.post("/v1/represent", content=b"{nope", headers={"content-type": "application/json"}), 400, "invalid-request")
    assert_problem(client.post("/v1/represent", content=b"x", headers={"content-type": "text/plain"}), 415, "unsupported-media-type")
    assert_problem(client.post("/v1/represent", files={"img": photo("img1.jpg")}, data={"faces": "tallest"}), 400, "invalid-option")
    # 8000 x 8000 = 64 Mpx over the server's 30 Mpx limit, in a few kB
    bomb = png_header_only(8000, 8000)
    assert len(bomb) < 200_000
    assert_problem(client.post("/v1/represent", files={"img": bomb}), 413, "image-too-large")
    # 50 MB body: refused from its Content-Length before it is read
    big = b"\0" * (50 * 1024 * 1024)
    try:
        r = client.post("/v1/represent", content=big, headers={"content-type": "application/json"})
        assert_problem(r, 413, "body-too-large")
    except httpx.WriteError:  # the server answered and closed while the client was still sending
        pass
    # the same without Content-Length (chunked): cut off once past the limit

    def chunks():
        for _ in range(50):
            yield b"\0" * (1024 * 1024)

    try:
        r = client.post("/v1/represent", content=chunks(), headers={"content-type": "application/json"})
        assert_problem(r, 413, "body-too-large")
    except httpx.WriteError:
        pass
    # the same on a raw socket, where the answer can always be read: Content-Length, then chunked
    assert _raw_post(server, {"Content-Length": str(50 * 2**20)}, [b"\0" * 65536]).startswith("HTTP/1.1 413")
    chunk = b"%x\r\n" % 2**20 + b"\0" * 2**20 + b"\r\n"
    reply = _raw_post(server, {"Transfer-Encoding": "chunked"}, [chunk] * 12)
    assert reply.startswith("HTTP/1.1 413") and '"code":"body-too-large"' in reply
    # keys and scopes
    with httpx.Client(base_url=server.url, timeout=60) as anon:
        assert_problem(anon.post("/v1/represent", files={"img": photo("img1.jpg")}), 401, "unauthorized")
        wrong = {"Authorization": "Bearer fp_00000000_wrong"}
        assert_problem(anon.post("/v1/represent", files={"img": photo("img1.jpg")}, headers=wrong), 401, "unauthorized")
        assert_problem(anon.get("/metrics", headers=server.auth("write")), 403, "forbidden")
        assert anon.get("/healthz").status_code == 200  # probes need no key
    assert_problem(client.post("/v1/galleries/x/faces", data={"identity": "a"}, files={"img": photo("img1.jpg")}), 403, "forbidden")
    assert_problem(client.post("/v1/galleries", json={"name": "x"}, headers=server.auth("write")), 403, "forbidden")
    assert_problem(client.get("/v1/nothing"), 404, "not-found")
    # server-side paths: inside allow_paths only
    r = client.post("/v1/represent", json={"img": {"path": "img1.jpg"}})
    assert r.status_code == 200
    assert_problem(client.post("/v1/represent", json={"img": {"path": "../../../etc/passwd"}}), 403, "forbidden")
    assert_problem(client.post("/v1/represent", json={"img": {"path": str(IDENTITIES.parent / "README.md")}}), 403, "forbidden")
    # CORS is off: no allow-origin header for a foreign origin
    pre = client.options("/v1/verify", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers
    # still serving, and the log lines carry request ids
    rid = "test-rid-42"
    assert client.post("/v1/represent", files={"img": photo("img1.jpg")}, headers={"X-Request-ID": rid}).headers["x-request-id"] == rid
    assert client.get("/readyz").status_code == 200
    assert f"[{rid}]" in server.log.read_text(errors="replace")
    assert "Traceback" not in server.log.read_text(errors="replace")


def _raw_post(server: Server, headers: dict[str, str], parts: list[bytes]) -> str:
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    head = {"Host": host, "Content-Type": "application/json", **server.auth("read"), **headers}
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(b"POST /v1/represent HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode() + b"\r\n")
        try:
            for part in parts:
                sock.sendall(part)
        except OSError:  # the server answered and closed before the client finished sending
            pass
        data = b""
        while b"\r\n\r\n" not in data or len(data) < 200:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    return data.decode("latin-1")


def test_metrics_after_traffic(server: Server, client: httpx.Client) -> None:
    client.post("/v1/represent", files={"img": photo("img1.jpg")})
    text = client.get("/metrics", headers=server.auth("admin")).text
    assert 'faceprint_requests_total{method="POST",route="/v1/represent",status="200"}' in text
    assert "faceprint_request_seconds_bucket" in text and "faceprint_batch_size_count" in text
    assert "faceprint_queue_depth" in text and 'faceprint_errors_total{code="no-face"}' in text


def test_keys_cli_create_list_revoke(server: Server) -> None:
    from faceprint.cli import main

    keys_file = str(server.log.parent / "keys.sqlite")
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["keys", "create", "ci-bot", "--scope", "read", "--keys-file", keys_file, "--json"]) == 0
    made = json.loads(out.getvalue())
    h = {"Authorization": f"Bearer {made['key']}"}
    assert httpx.post(server.url + "/v1/detect", files={"img": photo("img1.jpg")}, headers=h, timeout=60).status_code == 200
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["keys", "list", "--keys-file", keys_file, "--json"]) == 0
    listed = json.loads(out.getvalue())
    assert made["id"] in [k["id"] for k in listed] and all("hash" not in k and "key" not in k for k in listed)
    assert made["key"].split("_", 2)[2] not in (server.log.parent / "keys.sqlite").read_bytes().decode("latin-1")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["keys", "revoke", made["id"], "--keys-file", keys_file]) == 0
        assert main(["keys", "revoke", made["id"], "--keys-file", keys_file]) == 2
    assert_problem(httpx.post(server.url + "/v1/detect", files={"img": photo("img1.jpg")}, headers=h, timeout=60),
                   401, "unauthorized")  # fmt: skip


def test_live_websocket(server: Server, client: httpx.Client) -> None:
    websockets = pytest.importorskip("websockets.sync.client", reason="websockets not installed")
    client.post("/v1/galleries", json={"name": "live"}, headers=server.auth("admin"))
    client.post("/v1/galleries/live/faces", data={"identity": "p01"}, files={"img": photo("img2.jpg")}, headers=server.auth("write"))
    url = server.url.replace("http://", "ws://") + "/v1/live"
    with websockets.connect(url, max_size=None) as ws:
        ws.send(json.dumps({"key": server.keys["read"], "gallery": "live"}))
        backend = "pipeline" if importlib.util.find_spec("scipy") is None else "video"
        assert json.loads(ws.recv(timeout=30)) == {"ready": True, "backend": backend, "gallery": "live"}
        if backend == "video":  # a track is shown once it is confirmed: seen in two frames
            ws.send(photo("img1.jpg"))
            assert json.loads(ws.recv(timeout=60))["backend"] == backend
        ws.send(photo("img1.jpg"))
        reply = json.loads(ws.recv(timeout=60))
        assert reply["backend"] == backend and len(reply["faces"]) == 1
        assert reply["faces"][0]["identity"] == "p01" and reply["faces"][0]["verified"] is True
        if backend == "video":  # the same face in the next frame keeps its track
            ws.send(photo("img1.jpg"))
            again = json.loads(ws.recv(timeout=60))
            assert again["faces"][0]["track_id"] == reply["faces"][0]["track_id"]
        ws.send(blank_png())
        assert json.loads(ws.recv(timeout=60))["faces"] == []
        ws.send(b"garbage")
        assert json.loads(ws.recv(timeout=60))["code"] == "bad-image"
    for hello, code in (({"key": "fp_00000000_x"}, "unauthorized"), ({}, "unauthorized"),
                        ({"key": server.keys["read"], "gallery": "nope"}, "gallery-not-found")):  # fmt: skip
        with websockets.connect(url) as ws:
            ws.send(json.dumps(hello))
            assert json.loads(ws.recv(timeout=30))["code"] == code
    assert server.keys["read"] not in server.log.read_text(errors="replace")  # keys never reach the log
