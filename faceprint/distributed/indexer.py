"""``faceprint.distributed.index``: index an image list on a Ray cluster into any gallery back end.

Ray Data streams the list through CPU tasks (read, content hash, decode, detect, align) into an actor
pool that keeps the recognizer loaded (``num_gpus`` per actor on GPU nodes); the driver collects
finished images and writes them in batches, one store transaction each. Keys are content hashes: a
rerun after a crash or Ctrl-C skips every image already stored; Ray retries the tasks of a killed
worker, and the driver drops anything delivered twice, so each image is stored exactly once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceprint.augment import parse
from faceprint.config import DEFAULT_FACES, check_faces
from faceprint.distributed.sinks import DoneImage, GallerySink
from faceprint.errors import ConfigError, DependencyError
from faceprint.image import DEFAULT_MAX_PIXELS

log = logging.getLogger("faceprint")


@dataclass(frozen=True, slots=True)
class Progress:
    done: int  # images finished this run (stored, no face, failed, or found already stored)
    total: int
    images_per_s: float
    failures: dict[str, int]


@dataclass(frozen=True, slots=True)
class DistributedReport:
    """What a distributed index run did."""

    total: int  # images in the list
    indexed: int  # images stored this run with at least one face
    faces: int
    no_face: int
    already_stored: int  # skipped: their content hash was stored before this run
    duplicates: int  # same content as another image of this run: stored once
    errors: tuple[tuple[str, str], ...] = ()  # (path, reason): not stored, retried by the next run
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    images_per_s: float = 0.0
    report_file: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.total} image(s): indexed {self.indexed} ({self.faces} face(s)), no face {self.no_face}, "
                f"already stored {self.already_stored}, duplicates {self.duplicates}, errors {len(self.errors)} "
                f"in {self.seconds:.1f} s ({self.images_per_s:.2f} img/s)")  # fmt: skip


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise DependencyError("distributed indexing needs Ray: pip install 'faceprint[ray]' (ray[data])") from None
    return ray


def connect(address: str | None = "auto") -> bool:
    """Join the Ray cluster at ``address`` ("auto": the one ``ray start`` made here, else a local one;
    "local": always a new local one). Returns whether this call started Ray (and should stop it)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address in (None, "", "local"):
        ray.init(**opts)
        return True
    if address != "auto" and not address.startswith("ray://"):
        _probe(address)
    try:
        ray.init(address=address, **opts)
    except ConnectionError:
        if address != "auto":
            raise ConfigError(f"no Ray cluster at {address}; start one with 'ray start --head' or pass --ray local") from None
        log.info("no running Ray cluster found; starting a local one")
        ray.init(**opts)
    return True


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address nothing listens on (ray.init would retry for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r}: use host:port (e.g. 10.0.0.5:6379), auto or local")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"no Ray cluster at {address} ({exc}); start one with 'ray start --head' "
                          "or pass --ray local") from None  # fmt: skip


def default_report_path(db: str) -> Path:
    loc = db.removeprefix("parquet:")
    if "://" in loc or db.startswith("milvus:"):
        return Path("faceprint-index-report.json")
    return Path(loc) / "index-report.json"


def index(
    photos: str | os.PathLike[str],
    db: str | os.PathLike[str],
    *,
    address: str | None = "auto",
    model: str = "dlib",
    detector: str = "mtcnn",
    align: str = "template",
    metric: str | None = None,
    faces: str = DEFAULT_FACES,
    tta: str | None = "auto",
    num_jitters: int = 0,
    identity_column: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    embed_actors: int = 1,
    embed_cpus: float = 0.5,
    num_gpus: float = 0.0,
    batch_size: int = 32,
    task_images: int = 16,
    task_memory: int = 2**30,
    write_images: int = 256,
    flush_seconds: float = 5.0,
    report: str | os.PathLike[str] | None = None,
    progress: bool | Callable[[Progress], None] = False,
    progress_seconds: float = 5.0,
    **store_options: Any,
) -> DistributedReport:
    """Index the images of ``photos`` (a folder, a .txt/.csv list of paths or URIs, or a .parquet file of
    paths) into the gallery ``db`` (a folder, ``postgresql://...#name``, ``milvus:FILE#name`` or
    ``parquet:DIR``) on the Ray cluster at ``address``.

    ``embed_actors`` recognizer actors (each ``embed_cpus`` CPUs — embedding is ~3% of the work per
    image on CPU, so half a CPU by default — and ``num_gpus`` GPUs) embed ``batch_size`` faces at a
    time; CPU tasks (1 CPU, ``task_memory`` bytes) prepare ``task_images`` images each. The driver
    writes every ``write_images`` finished images or ``flush_seconds``, whichever comes first. A JSON
    failure report goes to ``report`` (default: ``DB/index-report.json`` for folders, else the
    working directory). Images over ``max_pixels`` are refused (from their header, before decoding)
    and listed in the report.
    """
    check_faces(faces)
    if min(embed_actors, batch_size, task_images, write_images) < 1:
        raise ConfigError("embed_actors, batch_size, task_images and write_images must be >= 1")
    ray = _ray()
    from faceprint.distributed.sources import read_image_list
    from faceprint.distributed.stages import Embedder, done_array, prepare

    t0 = time.perf_counter()
    db = str(db)
    sink = GallerySink(db, model=model, detector=detector, align=align, metric=metric, tta=tta,
                       num_jitters=num_jitters, **store_options)  # fmt: skip
    tta, num_jitters = parse(sink.contract.tta)  # embed exactly as the target's contract says
    started = connect(address)
    try:
        stored = sink.stored_hashes()
        log.info("%d image(s) already stored in %s", len(stored), db)
        src = read_image_list(photos, identity_column=identity_column)
        total = src.count()
        if total:  # one block per task; at most 100k tasks, so a huge list does not drown the scheduler
            src = src.repartition(max(1, min(math.ceil(total / task_images), 100_000)))
        done_ref = ray.put(done_array(stored))
        ray.data.DataContext.get_current().enable_progress_bars = False  # the driver reports progress itself
        prepared = src.map_batches(
            prepare, batch_size=task_images, batch_format="numpy", zero_copy_batch=False, num_cpus=1,
            # a real reservation (measured: up to 764 MiB per worker on 14 Mpx photos); it also keeps Ray Data
            # from fusing these tasks into the embedding actors, where they would run one at a time
            memory=task_memory,
            fn_kwargs={"detector": detector, "model": sink.contract.model, "align": align, "faces": faces,
                       "done": done_ref, "max_pixels": max_pixels},
        )  # fmt: skip
        embedded = prepared.map_batches(
            Embedder, batch_size=batch_size, batch_format="numpy", zero_copy_batch=False,
            compute=ray.data.ActorPoolStrategy(size=embed_actors), num_cpus=embed_cpus, num_gpus=num_gpus or None,
            fn_constructor_kwargs={"model": sink.contract.model, "device": "cuda" if num_gpus else "cpu",
                                   "tta": tta, "num_jitters": num_jitters},
        )  # fmt: skip
        state = _Collector(sink, total, write_images, flush_seconds, progress, progress_seconds)
        try:
            for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
                state.take(batch)
        except KeyboardInterrupt:  # keep every image already complete: the rerun starts after them
            state.flush()
            log.warning("interrupted: %d image(s) stored this run; rerun to index the rest", len(state.written))
            raise
        state.flush()
    finally:
        sink.close()
        if started:
            ray.shutdown()
    seconds = time.perf_counter() - t0
    out = state.report(total, seconds)
    path = Path(report) if report is not None else default_report_path(db)
    out = _write_report(out, path, db, photos)
    log.info("%s", out.summary())
    return out


class _Collector:
    """Driver side: assembles images from face rows (in any order, duplicates dropped) and writes them."""

    def __init__(self, sink: GallerySink, total: int, write_images: int, flush_seconds: float,
                 progress: bool | Callable[[Progress], None], progress_seconds: float) -> None:  # fmt: skip
        self.sink, self.total, self.write_images, self.flush_seconds = sink, total, write_images, flush_seconds
        self.progress, self.progress_seconds = progress, progress_seconds
        self.partial: dict[str, DoneImage] = {}
        self.finished: set[str] = set()  # paths completed this run
        self.written: set[str] = set()  # content hashes stored this run
        self.buffer: list[DoneImage] = []
        self.counts: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.errors: list[tuple[str, str]] = []
        self.faces = 0
        self.t0 = self.last_flush = self.last_progress = time.perf_counter()

    def take(self, batch: dict[str, np.ndarray]) -> None:
        for r in range(len(batch["path"])):
            path = str(batch["path"][r])
            if path in self.finished:
                continue  # delivered again by a retried task
            status, key = str(batch["status"][r]), str(batch["key"][r])
            im = self.partial.get(path) or DoneImage(key, path, str(batch["identity"][r]), int(batch["size"][r]),
                                                     float(batch["mtime"][r]), status, str(batch["reason"][r]))  # fmt: skip
            face = int(batch["face"][r])
            if face >= 0 and all(f[0] != face for f in im.faces):
                box = tuple(float(batch[c][r]) for c in ("x1", "y1", "x2", "y2"))
                im.faces.append((face, box, float(batch["score"][r]), np.asarray(batch["embedding"][r], np.float32)))  # type: ignore[arg-type]
            if face >= 0 and len(im.faces) < int(batch["n_faces"][r]):
                self.partial[path] = im
                continue
            self.partial.pop(path, None)
            self.finished.add(path)
            self._finish(im)
            if len(self.buffer) >= self.write_images:
                self.flush()
        now = time.perf_counter()
        if self.buffer and now - self.last_flush >= self.flush_seconds:
            self.flush()
        if self.progress and now - self.last_progress >= self.progress_seconds:
            self.last_progress = now
            self._report_progress(now)

    def _finish(self, im: DoneImage) -> None:
        if im.status == "stored":
            self.counts["already_stored"] += 1
            return
        if im.status == "error":
            self.errors.append((im.path, im.reason))
            self.failures[im.reason.split(":", 1)[0]] += 1
            return
        if im.key in self.written:
            self.counts["duplicates"] += 1
            return
        self.written.add(im.key)
        im.faces.sort(key=lambda f: f[0])
        if im.status == "no_face":
            self.failures["no_face"] += 1
        self.counts[im.status] += 1
        self.buffer.append(im)

    def flush(self) -> None:
        if self.buffer:
            self.faces += self.sink.write(self.buffer)
            self.buffer = []
        self.last_flush = time.perf_counter()

    def _report_progress(self, now: float) -> None:
        done = len(self.finished)
        p = Progress(done, self.total, done / max(now - self.t0, 1e-9), dict(self.failures))
        if callable(self.progress):
            self.progress(p)
        else:
            log.info("indexed %d/%d images (%.2f img/s), failures %s", p.done, p.total, p.images_per_s, p.failures or "none")

    def report(self, total: int, seconds: float) -> DistributedReport:
        done = self.counts["ok"] + self.counts["no_face"]
        return DistributedReport(
            total=total, indexed=self.counts["ok"], faces=self.faces, no_face=self.counts["no_face"],
            already_stored=self.counts["already_stored"], duplicates=self.counts["duplicates"],
            errors=tuple(self.errors), failures_by_reason=dict(self.failures), seconds=seconds,
            images_per_s=done / seconds if seconds > 0 else 0.0,
        )  # fmt: skip


def _write_report(out: DistributedReport, path: Path, db: str, photos: Any) -> DistributedReport:
    from dataclasses import replace

    data = {"photos": str(photos), "db": db, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **out.to_dict()}
    data["errors"] = [{"path": p, "reason": r} for p, r in out.errors]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not write the failure report to %s: %s", path, exc)
        return out
    return replace(out, report_file=str(path))
