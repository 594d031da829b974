"""The micro-batcher: aligned faces of concurrent requests go through the recognizer in one forward pass.

Requests call :meth:`MicroBatcher.submit` with their crops and get a Future of their embeddings.
One thread takes the first waiting request, then gathers more until ``max_batch`` faces or
``max_wait`` seconds have passed (no wait when no other request is in progress), embeds them all at once and hands each request its rows.
A request alone in the service (nothing queued, no batch running, no other request in progress) is
embedded at once in the calling thread: no thread hop, no wait.
At most ``max_queue`` faces wait; beyond that :class:`Overloaded` is raised (→ 503 + Retry-After)
instead of letting memory grow. With ``enabled=False`` each request embeds its own faces at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

from faceprint.service.errors import Problem
from faceprint.service.metrics import Metrics

log = logging.getLogger("faceprint.service")


class Overloaded(Problem):
    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__("overloaded", detail, headers={"Retry-After": str(retry_after)})


class MicroBatcher:
    def __init__(
        self,
        embed: Callable[[list[np.ndarray]], np.ndarray],
        *,
        max_batch: int = 32,
        max_wait: float = 0.005,
        max_queue: int = 256,
        enabled: bool = True,
        metrics: Metrics | None = None,
        in_flight: Callable[[], int] | None = None,
    ) -> None:
        self.embed, self.max_batch, self.max_wait, self.max_queue = embed, max_batch, max_wait, max_queue
        #: requests in progress anywhere in the service: when all of them are in the batch, waiting gains nothing
        self.in_flight = in_flight
        self.enabled, self.metrics = enabled, metrics
        self._queue: deque[tuple[list[np.ndarray], Future, float]] = deque()
        self._pending = 0
        self._cond = threading.Condition()
        self._closed = False
        self._busy = False  # the batcher thread is running a forward pass
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._loop, name="faceprint-batcher", daemon=True)
            self._thread.start()

    @property
    def depth(self) -> int:
        """Faces waiting for a forward pass."""
        return self._pending

    def submit(self, crops: Sequence[np.ndarray]) -> Future:
        fut: Future = Future()
        crops = list(crops)
        if not crops:
            fut.set_result(np.zeros((0, 0), np.float32))
            return fut
        if not self.enabled:
            return self._run_here(crops, fut)
        with self._cond:
            if self._closed:
                raise Overloaded("the service is shutting down")
            alone = not self._queue and not self._busy and self.in_flight is not None and self.in_flight() <= 1
        if alone:  # nothing to merge with: the forward pass a batch of one would get, minus two thread hops
            return self._run_here(crops, fut)
        with self._cond:
            if self._pending + len(crops) > self.max_queue and self._pending > 0:
                raise Overloaded(f"{self._pending} faces are already waiting for the recognizer; retry shortly")
            self._queue.append((crops, fut, time.perf_counter()))
            self._pending += len(crops)
            self._cond.notify()
        return fut

    def _run_here(self, crops: list[np.ndarray], fut: Future) -> Future:
        try:
            fut.set_result(self.embed(crops))
            self._observe(len(crops), 0.0)
        except BaseException as exc:  # handed to the waiting request, which maps it to a problem
            fut.set_exception(exc)
        return fut

    def _observe(self, n: int, waited: float) -> None:
        if self.metrics is not None:
            self.metrics.observe("faceprint_batch_size", n)
            self.metrics.observe("faceprint_batch_wait_seconds", waited)

    def _take(self) -> list[tuple[list[np.ndarray], Future, float]] | None:
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed and not self._queue:
                return None
            batch = [self._queue.popleft()]
            n = len(batch[0][0])
            deadline = time.perf_counter() + self.max_wait
            while n < self.max_batch:
                if not self._queue:
                    left = deadline - time.perf_counter()
                    if left <= 0 or self._closed or (self.in_flight is not None and self.in_flight() <= len(batch)):
                        break
                    self._cond.wait(left)
                    continue
                if n + len(self._queue[0][0]) > self.max_batch:
                    break
                item = self._queue.popleft()
                batch.append(item)
                n += len(item[0])
            self._pending -= n
            self._busy = True
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._run(batch)
            finally:
                with self._cond:
                    self._busy = False

    def _run(self, batch: list[tuple[list[np.ndarray], Future, float]]) -> None:
        crops = [c for item in batch for c in item[0]]
        now = time.perf_counter()
        try:
            vectors = self.embed(crops)
        except BaseException as exc:  # every request of the batch gets the error, the thread lives on
            log.exception("recognizer failed on a batch of %d faces", len(crops))
            for _, fut, _ in batch:
                fut.set_exception(exc)
            return
        self._observe(len(crops), now - batch[0][2])
        i = 0
        for item, fut, _ in batch:
            fut.set_result(vectors[i : i + len(item)])
            i += len(item)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
