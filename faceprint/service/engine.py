"""The pipeline split for serving: decode → detect → align in a bounded worker pool, embeddings in the
micro-batcher (crops handed over from the worker thread), then the same decisions as
:class:`faceprint.Pipeline` (so answers equal the library's)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from faceprint.errors import FaceprintError
from faceprint.image import LoadedImage, load_image
from faceprint.service.batching import MicroBatcher, Overloaded
from faceprint.service.config import ServiceConfig
from faceprint.service.errors import Problem, from_exception
from faceprint.service.metrics import Metrics
from faceprint.types import Face, FaceAnalysis, Representation, VerifyResult
from faceprint.verification import check_metric, check_threshold, distance_matrix, probability_for, threshold_for

log = logging.getLogger("faceprint.service")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One decoded image with its chosen faces and their aligned crops."""

    name: str
    image: LoadedImage
    faces: list[Face]
    crops: list[np.ndarray]


def named(name: str, exc: FaceprintError) -> Problem:
    """The problem for ``exc``, its detail naming the request field instead of ``<bytes>``."""
    p = from_exception(exc) or Problem("internal", "internal error")
    p.detail = f"{name}: {p.detail.removeprefix('<bytes>: ')}"
    p.extra["field"] = name
    return p


class Engine:
    """Models loaded once, a worker pool of ``workers`` threads, the micro-batcher, admission control."""

    def __init__(self, cfg: ServiceConfig, metrics: Metrics) -> None:
        from faceprint.pipeline import get_pipeline

        self.cfg = cfg
        # the shared pipeline of the one-call API: galleries opened with the same settings reuse its models
        # (get_pipeline is keyed on the config, so Gallery.pipeline's call finds this one)
        self.pipeline = get_pipeline(cfg.pipeline_config())
        if cfg.max_pixels != self.pipeline.max_pixels:  # the service's own pixel limit; models stay shared
            self.pipeline = copy.copy(self.pipeline)
            self.pipeline.max_pixels = cfg.max_pixels
        self.pool = ThreadPoolExecutor(cfg.workers, thread_name_prefix="faceprint-worker")
        self.batcher = MicroBatcher(
            self.pipeline.embed, max_batch=cfg.batch_size, max_wait=cfg.batch_wait_ms / 1000.0,
            max_queue=max(cfg.queue_size * 4, cfg.batch_size), enabled=cfg.batching, metrics=metrics,
            in_flight=lambda: self._admitted,
        )  # fmt: skip
        self.ready = threading.Event()
        self.load_error: str | None = None
        self._admitted = 0
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    def load(self) -> None:
        """Load every model the config names (called once in a background thread at start-up)."""
        t0 = time.perf_counter()
        try:
            p = self.pipeline
            p.runs_on()  # loads the detector and the recognizer
            w, h = p.recognizer.alignment.size
            p.embed([np.zeros((h, w, 3), np.uint8)])  # first run allocates the session's buffers
            p.detect(np.zeros((64, 64, 3), np.uint8), retry=False)
            if p.align != "none":
                p._predictor()
            if self.cfg.preload_analysis:
                for task in ("age", "gender", "emotion"):
                    p.analyzer.model(task)
        except FaceprintError as exc:
            self.load_error = str(exc)
            log.error("model loading failed: %s", exc)
            return
        self.ready.set()
        log.info("models loaded in %.1f s: %s", time.perf_counter() - t0, self.pipeline)

    def close(self) -> None:
        self.batcher.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    @property
    def in_flight(self) -> int:
        return self._admitted

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold one of ``queue_size`` places for the request, or answer 503 with Retry-After."""
        with self._lock:
            if self._admitted >= self.cfg.queue_size:
                raise Overloaded(f"{self._admitted} requests are in progress (queue_size); retry shortly")
            self._admitted += 1
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in the worker pool, bounded by the request timeout."""
        fut = self.pool.submit(contextvars.copy_context().run, fn, *args)  # log lines keep the request id
        try:
            async with asyncio.timeout(self.cfg.request_timeout_s):  # cheaper than wait_for (no extra task)
                return await asyncio.wrap_future(fut)
        except TimeoutError:
            fut.cancel()
            raise Problem("timeout", f"no answer within {self.cfg.request_timeout_s:g} s") from None

    async def vectors(self, fut: Future) -> np.ndarray:
        """The embeddings of a :meth:`MicroBatcher.submit` future (already done when the batcher ran it at once)."""
        if fut.done():
            return fut.result()
        try:
            async with asyncio.timeout(self.cfg.request_timeout_s):
                return await asyncio.wrap_future(fut)
        except TimeoutError:
            raise Problem("timeout", f"no answer within {self.cfg.request_timeout_s:g} s") from None

    async def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Embeddings of crops prepared elsewhere (submitted from a worker thread: with batching off, or a
        request alone, the forward pass runs there, never on the event loop)."""
        return await self.vectors(await self.call(self.batcher.submit, crops))

    # -- stages (worker threads) -----------------------------------------------------------------
    def load_image(self, name: str, data: bytes) -> LoadedImage:
        try:
            return load_image(data, max_pixels=self.cfg.max_pixels)
        except FaceprintError as exc:
            raise named(name, exc) from None

    def prepare(self, name: str, data: bytes, faces: str, enforce: bool) -> Prepared:
        # the library's own path (reduced-size JPEG decoding included), so answers equal the library's
        try:
            img, found, crops = self.pipeline.prepare_faces(data, faces=faces, enforce_detection=enforce)
        except FaceprintError as exc:
            raise named(name, exc) from None
        return Prepared(name, img, found, crops)

    def prepare_submit(self, name: str, data: bytes, faces: str, enforce: bool) -> tuple[Prepared, Future]:
        """:meth:`prepare`, then the crops handed to the batcher from this worker thread (one hop less
        than going back through the event loop; a request alone is embedded right here)."""
        prep = self.prepare(name, data, faces, enforce)
        return prep, self.batcher.submit(prep.crops)

    # -- requests (event loop) -------------------------------------------------------------------
    async def represent(self, name: str, data: bytes, faces: str, enforce: bool) -> list[Representation]:
        prep, fut = await self.call(self.prepare_submit, name, data, faces, enforce)
        vectors = await self.vectors(fut)
        p = self.pipeline
        return [Representation(vectors[k], f, p.recognizer.name, p.detector.name, name) for k, f in enumerate(prep.faces)]

    async def verify(self, items: list[tuple[str, bytes]], *, metric: str | None, threshold: float | None,
                     faces: str, enforce: bool) -> VerifyResult:  # fmt: skip
        """:meth:`faceprint.Pipeline.verify` with the two images prepared in parallel and embedded in a batch."""
        spec = self.pipeline.recognizer.spec
        metric = check_metric(metric or spec.default_metric)
        thr = threshold_for(spec, metric, self.pipeline.tta) if threshold is None else check_threshold(threshold)
        t0 = time.perf_counter()
        done = await asyncio.gather(*(self.call(self.prepare_submit, n, d, faces, enforce) for n, d in items))
        t1 = time.perf_counter()  # "prepare" includes the embedding when the worker ran it in place
        preps = [prep for prep, _ in done]
        v1, v2 = [await self.vectors(fut) for _, fut in done]
        t2 = time.perf_counter()
        d = distance_matrix(v1, v2, metric)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        dist = float(d[i, j])
        return VerifyResult(
            verified=dist <= thr, distance=dist, threshold=thr, metric=metric, model=spec.name,
            detector=self.pipeline.detector.name, faces=(preps[0].faces[i], preps[1].faces[j]),
            timings={"prepare": t1 - t0, "embed": t2 - t1, "total": time.perf_counter() - t0},
            probability=probability_for(spec, metric, dist),
        )  # fmt: skip

    def detect(self, name: str, data: bytes, crops: bool) -> tuple[LoadedImage, list[Face], list[np.ndarray]]:
        img = self.load_image(name, data)
        try:
            found = self.pipeline.detect(img)
            if not crops or not found:
                return img, found, []
            aligned, out = self.pipeline.align_faces(img, found)
        except FaceprintError as exc:
            raise named(name, exc) from None
        return img, aligned, out

    def analyze(self, name: str, data: bytes, actions: str | None, faces: str, enforce: bool,
                anti_spoofing: bool) -> list[FaceAnalysis]:  # fmt: skip
        img = self.load_image(name, data)
        try:
            return self.pipeline.analyze(img, actions=actions, faces=faces, enforce_detection=enforce,
                                         anti_spoofing=anti_spoofing)  # fmt: skip
        except FaceprintError as exc:
            raise named(name, exc) from None
