"""Scale-out on a real local Ray cluster: a head node (2 CPUs) plus a second worker-node process (1 CPU).

Ray 2.60 rewrites a loopback address to the machine's own address when a driver connects, so the
nodes bind that (this machine's only interface); nothing outside the machine is contacted.

The cluster is started once for this module (``ray.cluster_utils.Cluster``: real raylets, no
dashboard, no usage stats, a small object store) and shut down at the end, also on failure. Real
faces from ``../shared/faces``: a subset of identities + orl + group (the whole 470 images take
minutes on 2 shared cores; see docs/distributed.md for the measured full pass), plus a blank image
(no face) and a truncated file (an error), written to the test's temp folder.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FACES, IDENTITIES, ROOT, read_csv

ray = pytest.importorskip("ray", reason="ray not installed (pip install 'faceprint[ray]')")
pytest.importorskip("ray.data", reason="ray[data] not installed (pip install 'faceprint[ray]')")
pytest.importorskip("pyarrow", reason="pyarrow not installed (pip install 'faceprint[ray]')")
needs_all_faces = pytest.mark.skipif(
    not all((FACES / d).is_dir() for d in ("identities", "orl", "group")),
    reason=f"identities/orl/group fixtures not found under {FACES} (set FACEPRINT_SHARED)",
)


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "object_store_memory": 300_000_000, "include_dashboard": False,
    })  # fmt: skip
    try:
        c.add_node(num_cpus=1, object_store_memory=150_000_000)
        ray.init(address=c.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def _subset() -> list[tuple[Path, str]]:
    ids = [(IDENTITIES / r["file"], r["identity"]) for r in read_csv(IDENTITIES / "labels.csv")]
    pick = [x for x in ids if x[0].name == "couple.jpg"] + [x for x in ids if x[0].name != "couple.jpg"][:6]
    orl = [(FACES / "orl" / r["file"], r["subject"]) for r in read_csv(FACES / "orl" / "labels.csv")]
    pick += [x for x in orl if x[1] in ("s1", "s2", "s3") and x[0].stem in ("1", "2", "3", "4")]
    pick += [(FACES / "group" / "sample1.jpg", "group1")]
    return pick


@pytest.fixture(scope="module")
def photo_list(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all((FACES / d).is_dir() for d in ("identities", "orl", "group")):
        pytest.skip(f"identities/orl/group fixtures not found under {FACES}")
    from PIL import Image

    d = tmp_path_factory.mktemp("photos")
    Image.new("RGB", (120, 90), (200, 200, 200)).save(d / "blank.png")  # no face
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")  # unreadable
    rows = [(str(p), ident) for p, ident in _subset()] + [(str(d / "blank.png"), "nobody"), ("broken.jpg", "x")]
    path = d / "photos.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "identity"])
        w.writerows(rows)
    return path


def _rows(photo_list: Path) -> list[tuple[str, str]]:
    base = photo_list.parent
    return [(os.path.normpath(os.path.join(base, r["path"])), r["identity"]) for r in read_csv(photo_list)]


@pytest.fixture(scope="module")
def reference(photo_list: Path, pipeline) -> dict[str, list[np.ndarray]]:
    """Local represent_stream embeddings per path (faces="all"), the numbers every target must hold."""
    paths = [p for p, _ in _rows(photo_list)]
    out = {}
    for r in pipeline.represent_stream(paths, faces="all", errors="skip"):
        if r.error is None:
            out[r.source] = [rep.embedding for rep in r.representations]
    return out


def _index(photo_list: Path, db: str, cluster, **kw):
    from faceprint.distributed import index

    return index(photo_list, db, address=cluster.address, faces="all", **kw)


def _stored(db: str) -> dict[str, list[tuple[int, str, np.ndarray]]]:
    from faceprint.search import Gallery

    out: dict[str, list[tuple[int, str, np.ndarray]]] = {}
    with Gallery(db) as g:
        for e, v in g:
            out.setdefault(e.key, []).append((e.face, e.identity, np.asarray(v)))
    return out


def _check_equal(stored, reference, rows) -> None:
    idents = dict(rows)
    assert set(stored) == set(reference)
    for path, vecs in reference.items():
        got = sorted(stored[path], key=lambda t: t[0])
        assert [f for f, _, _ in got] == list(range(len(vecs))), path  # every face exactly once
        assert all(ident == idents[path] for _, ident, _ in got)
        diff = max(float(np.abs(v - ref).max()) for (_, _, v), ref in zip(got, vecs))
        assert diff <= 1e-5, (path, diff)


@needs_all_faces
def test_index_embedded_equals_local_and_resumes(cluster, photo_list: Path, reference, tmp_path: Path) -> None:
    import json

    rows = _rows(photo_list)
    db = str(tmp_path / "gal")
    report_file = tmp_path / "report.json"
    seen = []
    r = _index(photo_list, db, cluster, report=report_file, progress=seen.append, progress_seconds=0.0)
    n_ok = len(reference)
    assert r.total == len(rows) and r.indexed == n_ok and r.no_face == 1 and len(r.errors) == 1
    assert r.faces == sum(len(v) for v in reference.values()) > n_ok  # couple.jpg and sample1.jpg: several faces
    assert "broken.jpg" in r.errors[0][0] and r.failures_by_reason == {"no_face": 1, "ImageDecodeError": 1}
    assert seen and seen[-1].total == len(rows)
    data = json.loads(report_file.read_text())
    assert data["errors"][0]["path"].endswith("broken.jpg") and data["indexed"] == n_ok
    _check_equal(_stored(db), reference, rows)
    from faceprint.search import Gallery

    with Gallery(db) as g:  # a local sync of the same files sees them as stored (path, size, mtime, hash)
        assert g.stats().no_face_files == 1 and g.stats().files == n_ok
    again = _index(photo_list, db, cluster, report=report_file)
    assert again.indexed == 0 and again.already_stored == n_ok + 1 and len(again.errors) == 1  # the error is retried


@needs_all_faces
def test_index_parquet_and_milvus(cluster, photo_list: Path, reference, tmp_path: Path) -> None:
    pytest.importorskip("pymilvus", reason="pymilvus not installed")
    pytest.importorskip("milvus_lite", reason="milvus-lite not installed")
    rows = _rows(photo_list)
    for db in (f"parquet:{tmp_path / 'shards'}", f"milvus:{tmp_path / 'm.db'}#faces"):
        r = _index(photo_list, db, cluster, report=tmp_path / "r.json", write_images=5)
        assert r.indexed == len(reference) and r.no_face == 1, db
        _check_equal(_stored(db), reference, rows)
    assert len(list((tmp_path / "shards").glob("part-*.parquet"))) >= 3  # written in batches


@needs_all_faces
def test_index_pgvector(cluster, photo_list: Path, reference, pg_url: str, tmp_path: Path) -> None:
    db = f"{pg_url}#ray_faces"
    r = _index(photo_list, db, cluster, report=tmp_path / "r.json")
    assert r.indexed == len(reference)
    _check_equal(_stored(db), reference, _rows(photo_list))


def _ray_processes(title: str) -> list[int]:
    """Live pids whose process title (Ray sets it to the task or actor running) starts with ``title``."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith(title):
                out.append(int(pid))
    return out


@needs_all_faces
def test_killed_worker_every_image_once(cluster, photo_list: Path, reference, tmp_path: Path) -> None:
    db = f"parquet:{tmp_path / 'shards'}"
    killed: dict[str, list[int]] = {"embed": [], "prepare": []}
    stop = threading.Event()

    def killer() -> None:  # once work is under way, SIGKILL the embedding actor and a running prepare task
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline and not (killed["embed"] and killed["prepare"]):
            for name, title in (("embed", "ray::MapWorker(MapBatches(Embedder))"), ("prepare", "ray::MapBatches(prepare)")):
                pids = _ray_processes(title)
                if pids and not killed[name]:  # as soon as it runs: the job is under way, nothing stored yet or some
                    os.kill(pids[0], signal.SIGKILL)
                    killed[name].append(pids[0])
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        r = _index(photo_list, db, cluster, report=tmp_path / "r.json", write_images=2, task_images=2, flush_seconds=0.5)
    finally:
        stop.set()
        t.join()
    assert killed["embed"] and killed["prepare"], f"nothing was killed mid-job: {killed}"
    assert r.indexed == len(reference) and r.no_face == 1 and r.duplicates == 0
    _check_equal(_stored(db), reference, _rows(photo_list))  # every image stored exactly once, same numbers


@needs_all_faces
def test_rerun_after_driver_killed_does_only_the_rest(cluster, photo_list: Path, reference, tmp_path: Path) -> None:
    from faceprint.search import Gallery

    shards = tmp_path / "shards"
    db = f"parquet:{shards}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    args = ["index", str(photo_list), "--db", db, "--ray", cluster.address, "--faces", "all", "--write-images", "1",
            "--report", str(tmp_path / "r.json"), "--json"]  # fmt: skip
    # the driver SIGKILLs itself right after its 3rd write: mid-job on a fast machine as on a slow one
    driver = (
        "import os, signal, sys\n"
        "from faceprint.distributed import sinks\n"
        "from faceprint.cli import main\n"
        "write, n = sinks.GallerySink.write, [0]\n"
        "def dying_write(self, images):\n"
        "    out = write(self, images)\n"
        "    n[0] += 1\n"
        "    if n[0] == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return out\n"
        "sinks.GallerySink.write = dying_write\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", driver, *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=300)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, f"the driver was not killed mid-job: {proc.stderr.decode()[-2000:]}"
    with Gallery(db) as g:
        before = {p for p, f in g.store.files().items() if f.status in ("ok", "no_face")}
    total_final = len(reference) + 1
    assert 3 <= len(before) < total_final
    r = _index(photo_list, db, cluster, report=tmp_path / "r.json")
    assert r.already_stored == len(before)
    assert r.indexed + r.no_face == total_final - len(before)  # only the rest was done
    _check_equal(_stored(db), reference, _rows(photo_list))


def test_map_reduce_equals_brute_force(cluster, tmp_path: Path) -> None:
    from faceprint.distributed import search
    from faceprint.errors import ContractError
    from faceprint.search import Gallery
    from faceprint.search.vector_index import exact_search
    from tests.search_helpers import unit

    v = unit(6000, 128)
    q = unit(64, 128, seed=3)
    loc = f"parquet:{tmp_path / 'g'}"
    ids = []
    with Gallery(loc, metric="cosine") as g:
        for s in range(0, 6000, 500):  # 12 shards
            ids += g.add_vectors(v[s : s + 500], [f"p{i % 300}" for i in range(s, s + 500)],
                                 keys=[f"k{i}" for i in range(s, s + 500)])  # fmt: skip
        assert g.stats().backend["shards"] == 12
        local = g.search(vectors=q, k=10)
    d_ref, l_ref = exact_search(v, np.array(ids), q, 10, "cosine")
    res = search(tmp_path / "g", q, k=10, address=cluster.address, metric="cosine")
    for fm, loc_fm, dr, lr in zip(res, local, d_ref, l_ref):
        assert [m.entry_id for m in fm] == list(lr) == [m.entry_id for m in loc_fm]
        np.testing.assert_allclose([m.distance for m in fm], dr, atol=1e-5)
    # a shard written under another contract is refused, not mixed in
    with Gallery(f"parquet:{tmp_path / 'other'}", metric="euclidean") as other:
        other.add_vectors(v[:10], "x")
    foreign = next((tmp_path / "other").glob("part-*.parquet"))
    shutil.copy(foreign, tmp_path / "g" / foreign.name.replace("part-00000000", "part-00000099"))
    with pytest.raises(ContractError, match="made under embedding contract"):
        search(tmp_path / "g", q, k=3, address=cluster.address, metric="cosine")


def test_ray_missing_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from faceprint.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(Exception, match=r"pip install 'faceprint\[ray\]'"):
        from faceprint.distributed.indexer import _ray

        _ray()
    assert main(["index", str(tmp_path), "--db", str(tmp_path / "g"), "--ray"]) == 1


def test_bad_ray_address_fails_fast() -> None:
    from faceprint.distributed.indexer import _probe
    from faceprint.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no Ray cluster at 127\.0\.0\.1:1"):
        _probe("127.0.0.1:1", timeout=2)
    with pytest.raises(ConfigError, match="host:port"):
        _probe("nohost")


@needs_all_faces
def test_folder_text_and_parquet_lists_uris_through_pyarrow(cluster, pipeline, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    imgs = [FACES / "orl" / "s1" / "1.png", FACES / "orl" / "s2" / "1.png"]
    ref = {os.path.realpath(p): pipeline.represent(p)[0].embedding for p in imgs}
    (tmp_path / "list.txt").write_text("".join(f"{p.as_uri()}\n" for p in imgs) + "\n")  # file:// via pyarrow.fs
    pq.write_table(pa.table({"file": [str(p) for p in imgs], "person": ["a", "b"]}), tmp_path / "list.parquet")
    for ident, p in zip(("x", "y"), imgs):  # a folder tree of symlinks: identity = sub-folder
        (tmp_path / "people" / ident).mkdir(parents=True)
        (tmp_path / "people" / ident / p.name).symlink_to(p)
    for src, idents in (("list.txt", {"s1", "s2"}), ("list.parquet", {"a", "b"}), ("people", {"x", "y"})):
        db = f"parquet:{tmp_path / src.replace('.', '_')}_g"
        r = _index(tmp_path / src, db, cluster, report=tmp_path / "r.json")
        assert r.indexed == 2, src
        stored = _stored(db)
        assert {v[0][1] for v in stored.values()} == idents
        for key, v in stored.items():
            assert np.abs(v[0][2] - ref[os.path.realpath(key.removeprefix("file://"))]).max() <= 1e-5


@needs_all_faces
def test_prepare_refuses_images_over_the_pixel_limit() -> None:
    from faceprint.distributed.stages import prepare

    photo = str(IDENTITIES / "img1.jpg")
    batch = {"path": np.array([photo], dtype=object), "identity": np.array(["a"], dtype=object)}
    small = prepare(batch, detector="mtcnn", model="dlib", align="template", faces="largest", max_pixels=10_000)
    assert list(small["status"]) == ["error"] and "ImageTooLargeError" in small["reason"][0]
    ok = prepare(batch, detector="mtcnn", model="dlib", align="template", faces="largest")
    assert list(ok["status"]) == ["ok"]


def test_index_ray_rebuild_is_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from faceprint.cli import main

    assert main(["index", str(tmp_path), "--db", str(tmp_path / "g"), "--ray", "--rebuild"]) == 2
    assert "--rebuild is not done on Ray" in capsys.readouterr().err
