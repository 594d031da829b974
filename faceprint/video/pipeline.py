"""VideoPipeline: detection + tracking per frame, recognition and attributes per track."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np

from faceprint.analysis.analyze import parse_actions
from faceprint.augment import DEFAULT_TTA
from faceprint.errors import ConfigError
from faceprint.image import LoadedImage
from faceprint.pipeline import Pipeline
from faceprint.types import Face
from faceprint.video.memory import TrackMemory, face_quality
from faceprint.video.tracker import Track, Tracker
from faceprint.video.types import Event, FrameResult, TrackedFace

log = logging.getLogger("faceprint")

#: A job's answer per track: (track id, quality, embedding, attributes or None, P(live) or None)
_Result = tuple[int, float, np.ndarray, Any, float | None]


class VideoPipeline:
    """Feed frames one by one; get tracked faces with per-track identity, attributes and liveness.

        >>> vp = VideoPipeline(db="people/", actions="age,gender,emotion")
        >>> r = vp.process(frame)            # a BGR uint8 array (H, W, 3), e.g. from cv2.VideoCapture
        >>> [(f.track_id, f.identity, f.box) for f in r.faces], r.events
        >>> vp.finish()                      # events of the end: late identifications, track_ended
        >>> vp.close()

    ``process(frame)`` detects faces (on a copy downscaled to ``detect_side``), tracks them, and returns a
    :class:`FrameResult` at once. Embeddings and attributes are computed in a worker thread, batched over
    the tracks that need one (a new track; a clearly better face; or every ``embed_every`` frames), and
    reach the results of a later frame: ``TrackedFace.identity`` stays None until then. With
    ``background=False`` they are computed inside ``process`` (slower, deterministic).

    ``index`` defaults to a frame counter and ``timestamp`` to seconds since the pipeline was made; pass
    your own for a recorded source. ``FrameResult.to_dict()`` gives plain JSON types (for a web page).

    Use one VideoPipeline per video stream, from one thread at a time. A ``db`` given by location
    (image folder, gallery folder, ``postgresql://``, milvus) is opened once per calling thread.

    Args:
        db: the gallery (see :func:`faceprint.find`) or a :class:`faceprint.search.Gallery`; None: no identities.
        detector, recognizer, align, device, tta: as :class:`faceprint.Pipeline`; or pass ``pipeline=``.
        actions: attributes to estimate per track ("age,gender,emotion"); None: none.
        anti_spoofing: also estimate liveness per track (``spoof_suspected`` events).
        threshold: distance at or below which a gallery identity is accepted (default: the model's).
        detect_side: long side of the copy the detector sees (None: the detector's own default).
        min_face_size: smallest face kept, in the frame's pixels (default: 20 pixels of the detector's copy,
            so a large frame does not make a pyramid detector such as MTCNN upsample).
        embed_every: re-embed a visible track after this many frames; ``better``: or when its face
            quality beats the best embedded one by this factor.
        change_threshold: mean grey-level change (0-255, on a 32×18 thumbnail) between consecutive frames
            above which the scene may have cut: every visible track is re-embedded in that very frame, and
            one whose face no longer matches its own embeddings is split (a cut shows other people where
            the old faces were). None: check only at the scheduled re-embeddings.
        split_distance: euclidean distance between unit embeddings above which a track's new face is
            another person: the track ends and a new one starts (default: 1.5 × the recognizer's
            euclidean_l2 threshold; 2/3 of it in a frame after a scene change, where a new person is
            likely). Guards against id switches at cuts and crossings.
        tracker: a :class:`Tracker` (or its options as a dict).
        detect_every: run the detector on every Nth frame only; in between, boxes follow each track's
            Kalman prediction (faster, boxes lag on sudden moves; a scene change always detects). Default 1.
    """

    def __init__(
        self,
        db: Any = None,
        *,
        detector: str = "mtcnn",
        recognizer: str = "dlib",
        align: str = "template",
        device: str = "cpu",
        tta: str | None = DEFAULT_TTA,
        pipeline: Pipeline | None = None,
        actions: str | list[str] | tuple[str, ...] | None = None,
        anti_spoofing: bool = False,
        metric: str | None = None,
        threshold: float | None = None,
        detect_side: int | None = 640,
        min_face_size: int | None = None,
        embed_every: int = 15,
        better: float = 1.25,
        change_threshold: float | None = 15.0,
        split_distance: float | None = None,
        tracker: Tracker | dict[str, Any] | None = None,
        background: bool = True,
        refresh: bool = True,
        detect_every: int = 1,
    ) -> None:
        if detect_every < 1:
            raise ConfigError(f"detect_every must be >= 1, got {detect_every}")
        if embed_every < 1:
            raise ConfigError(f"embed_every must be >= 1, got {embed_every}")
        if detect_side is not None and detect_side < 64:
            raise ConfigError(f"detect_side must be >= 64 pixels or None, got {detect_side}")
        options: dict[str, Any] = {"min_face_size": min_face_size or 20}
        self._min_face = min_face_size
        self._fitted_for: tuple[int, int] | None = None
        if detect_side is not None:
            options["max_side"] = detect_side
        self.pipeline = pipeline or Pipeline(detector, recognizer, align=align, device=device, tta=tta,
                                             detector_options=options)  # fmt: skip
        self.actions = parse_actions(actions) if actions else ()
        self.anti_spoofing = anti_spoofing
        self.threshold = threshold
        self.embed_every = embed_every
        self.better = better
        self.change_threshold = change_threshold
        self.split_distance = split_distance if split_distance is not None else self._default_split()
        self.tracker = tracker if isinstance(tracker, Tracker) else Tracker(**(tracker or {}))
        self._memory: dict[int, TrackMemory] = {}
        self._db = db
        self._metric = metric
        self._local = threading.local()
        self._galleries: list[Any] = []
        if db is not None and not hasattr(db, "search"):
            self._gallery(refresh)  # index a photo folder now, not on the first frame
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="faceprint-embed") if background else None
        self._inflight: Future | None = None
        self._prev_thumb: np.ndarray | None = None
        self.detect_every = detect_every
        self._since_detect = detect_every
        self._t0 = time.monotonic()
        self._count = 0
        self.tracks_started = 0
        self.identities: set[str] = set()

    def __enter__(self) -> VideoPipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- gallery ------------------------------------------------------------------------------------
    def _gallery(self, refresh: bool = False) -> Any:
        if self._db is None or hasattr(self._db, "search"):
            return self._db
        g = getattr(self._local, "gallery", None)
        if g is None:
            from faceprint.search.finder import open_gallery

            c = self.pipeline
            g, folder = open_gallery(os.fspath(self._db), model=c.recognizer.name, detector=c.detector.name,
                                     align=c.align, metric=self._metric, tta=c.tta, num_jitters=c.num_jitters)  # fmt: skip
            if folder is not None and refresh:
                report = g.sync(folder)
                log.info("gallery %s: %s", self._db, report.summary())
            if len(g) == 0:
                log.warning("gallery %s holds no faces: every track will be 'unknown'", self._db)
            self._local.gallery = g
            self._galleries.append(g)
        return g

    # -- per frame ----------------------------------------------------------------------------------
    def process(self, frame: np.ndarray, *, index: int | None = None, timestamp: float | None = None) -> FrameResult:
        """Detect and track the faces of one BGR frame; apply any finished embeddings. Returns at once."""
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            got = f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ConfigError(f"process() takes a BGR uint8 frame of shape (H, W, 3), got {got}")
        t0 = time.perf_counter()
        index = self._count if index is None else int(index)
        stamp = time.monotonic() - self._t0 if timestamp is None else float(timestamp)
        self._count += 1
        events: list[Event] = []
        if self._inflight is not None and self._inflight.done():
            events += self._apply(self._take(), index, stamp)
        changed = self._scene_changed(frame)
        self._fit_min_face(frame)
        self._since_detect += 1
        if self._since_detect < self.detect_every and not changed and self.tracker.tracks:
            # a frame between detections: the tracks move on their Kalman prediction; nothing is embedded
            visible = self.tracker.coast(index, stamp)
            faces_out = tuple(self._tracked(tr) for tr in visible)
            return FrameResult(index, stamp, int(frame.shape[1]), int(frame.shape[0]), faces_out, tuple(events),
                               {"detect": 0.0, "total": time.perf_counter() - t0})  # fmt: skip
        self._since_detect = 0
        t = time.perf_counter()
        faces = self.pipeline.detect(LoadedImage(frame, "<frame>"), retry=False)  # with the 5-point stage's landmarks
        t_detect = time.perf_counter() - t
        visible, ended = self.tracker.update(faces, index, stamp)
        events += self._end(ended, index, stamp)
        if changed:  # verify every known face now, before this frame's result names anyone
            if self._inflight is not None:
                events += self._apply(self._take(), index, stamp)
            known = [(tr.id, tr.face, face_quality(frame, tr.face)) for tr in visible if tr.id in self._memory]
            if known:
                events += self._apply(self._job(frame, known), index, stamp, cut=True)
        for tr in visible:
            if tr.id not in self._memory:
                self._memory[tr.id] = TrackMemory()
                self.tracks_started += 1
                events.append(Event("track_started", tr.id, index, stamp, {"box": list(tr.face.box),
                                                                            "first_frame": tr.first_frame}))  # fmt: skip
        events += self._schedule(frame, visible, index, stamp)
        faces_out = tuple(self._tracked(tr) for tr in visible)
        total = time.perf_counter() - t0
        return FrameResult(index, stamp, int(frame.shape[1]), int(frame.shape[0]), faces_out, tuple(events),
                           {"detect": t_detect, "total": total})  # fmt: skip

    def finish(self, index: int | None = None, timestamp: float | None = None) -> list[Event]:
        """Wait for embeddings in flight, apply them, and end every track: the events of the stream's end."""
        index = max(self._count - 1, 0) if index is None else index
        stamp = time.monotonic() - self._t0 if timestamp is None else timestamp
        events = self._apply(self._take(), index, stamp) if self._inflight is not None else []
        return events + self._end(self.tracker.end_all(), index, stamp)

    def close(self) -> None:
        """Stop the worker thread and close galleries this object opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for g in self._galleries:
            g.close()
        self._galleries.clear()

    # -- internals ----------------------------------------------------------------------------------
    def _fit_min_face(self, frame: np.ndarray) -> None:
        size = (int(frame.shape[1]), int(frame.shape[0]))
        if self._min_face is not None or size == self._fitted_for:
            return
        det = self.pipeline.detector
        side = det.max_side
        scale = side / max(size) if side and max(size) > side else 1.0
        det.min_face_size = max(20, round(20 / scale))
        self._fitted_for = size

    def _default_split(self) -> float:
        from faceprint.verification import threshold_for

        spec = self.pipeline.recognizer.spec
        try:
            return 1.5 * threshold_for(spec, "euclidean_l2", self.pipeline.tta)
        except ConfigError:  # no euclidean_l2 threshold: the cosine one says the same (|a-b|² = 2(1-cos))
            return 1.5 * float(np.sqrt(2.0 * threshold_for(spec, "cosine", self.pipeline.tta)))

    def _scene_changed(self, frame: np.ndarray) -> bool:
        if self.change_threshold is None:
            return False
        step = max(1, min(frame.shape[0] // 72, frame.shape[1] // 128))  # subsample first: a whole-frame resize costs ms
        small = cv2.resize(frame[::step, ::step], (32, 18), interpolation=cv2.INTER_AREA)
        thumb = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        prev, self._prev_thumb = self._prev_thumb, thumb.astype(np.int16)
        return prev is not None and float(np.abs(self._prev_thumb - prev).mean()) > self.change_threshold

    def _split(self, tid: int, index: int, stamp: float) -> tuple[int, list[Event]]:
        """The face of track ``tid`` is someone else now: end that track and give the face a new one."""
        tr = next((t for t in self.tracker.tracks if t.id == tid), None)
        if tr is None:
            return tid, []
        old = Track(tr.id, tr.face, tr.kalman, tr.first_frame, tr.last_frame, tr.first_time, tr.last_time,
                    hits=tr.hits, confirmed=True)  # fmt: skip
        events = self._end([old], index, stamp)
        self.tracker.renumber(tr, index, stamp)
        self._memory[tr.id] = TrackMemory()
        self.tracks_started += 1
        events.append(Event("track_started", tr.id, index, stamp, {"box": list(tr.face.box), "first_frame": index,
                                                                    "split_from": tid}))  # fmt: skip
        return tr.id, events

    def _end(self, tracks: list[Track], index: int, stamp: float) -> list[Event]:
        events = []
        for tr in tracks:
            m = self._memory.pop(tr.id, None)
            if m is None:
                continue
            data = {"first_frame": tr.first_frame, "last_frame": tr.last_frame,
                    "duration": round(tr.last_time - tr.first_time, 4), "frames_seen": tr.hits,
                    "identity": m.identity, "distance": m.distance, "embedded_frames": m.embedded}  # fmt: skip
            events.append(Event("track_ended", tr.id, index, stamp, data))
        return events

    def _schedule(self, frame: np.ndarray, visible: list[Track], index: int, stamp: float) -> list[Event]:
        if self._pool is not None and self._inflight is not None:
            return []  # the worker is busy: tracks wait for the next frame (and batch up)
        todo: list[tuple[int, Face, float]] = []
        for tr in visible:
            m = self._memory[tr.id]
            q = face_quality(frame, tr.face)
            if m.needs_embedding(index, q, self.embed_every, self.better):
                todo.append((tr.id, tr.face, q))
                m.pending = True
        if not todo:
            return []
        if self._pool is None:
            return self._apply(self._job(frame, todo), index, stamp)
        self._inflight = self._pool.submit(self._job, frame, todo)
        return []

    def _job(self, frame: np.ndarray, todo: list[tuple[int, Face, float]]) -> list[_Result]:
        """In the worker: align, embed (one batch), and estimate attributes / liveness of these faces."""
        img = LoadedImage(frame, "<frame>")
        faces = [f for _, f, _ in todo]
        _, crops = self.pipeline.align_faces(img, faces)
        vectors = self.pipeline.embed(crops)  # with the pipeline's test-time augmentation, as the gallery's contract
        analyses: list[Any] = [None] * len(todo)
        live: list[float | None] = [None] * len(todo)
        if self.actions:
            analyses = self.pipeline.analyzer.analyze([(frame, f, "") for f in faces], self.actions)
        if self.anti_spoofing:
            live = [f.antispoof_score for f in self.pipeline.analyzer.check_liveness([(frame, f) for f in faces])]
        return [(tid, q, v, a, s) for (tid, _, q), v, a, s in zip(todo, vectors, analyses, live)]

    def _take(self) -> list[_Result]:
        fut, self._inflight = self._inflight, None
        return fut.result() if fut is not None else []

    def _apply(self, results: list[_Result], index: int, stamp: float, cut: bool = False) -> list[Event]:
        events: list[Event] = []
        updated: list[tuple[int, TrackMemory]] = []
        for tid, q, vec, analysis, p_live in results:
            m = self._memory.get(tid)
            if m is None:  # the track ended while its face was being embedded
                continue
            m.pending = False
            if m.embeddings and self.split_distance:
                gap = m.gap(vec)
                log.debug("track %d: new face at %.3f from its mean", tid, gap)
                if gap > self.split_distance * (2.0 / 3.0 if cut else 1.0):
                    tid, split_events = self._split(tid, index, stamp)
                    events += split_events
                    m = self._memory.get(tid, m)
            m.add_embedding(vec, q, index)
            updated.append((tid, m))
            if analysis is not None:
                m.add_analysis(analysis)
                labels = (m.gender, m.emotion)
                if labels != m.announced_attributes:
                    m.announced_attributes = labels
                    events.append(Event("attributes", tid, index, stamp, {"age": m.age, "gender": m.gender,
                                        "emotion": m.emotion, "frames": m.attribute_frames}))  # fmt: skip
            if p_live is not None:
                m.live.append(p_live)
                thr = self.pipeline.analyzer.spoof_threshold()
                if not m.spoof_announced and len(m.live) >= 3 and (m.liveness or 0.0) < thr:
                    m.spoof_announced = True
                    events.append(Event("spoof_suspected", tid, index, stamp, {"liveness": m.liveness,
                                        "threshold": thr, "frames": len(m.live)}))  # fmt: skip
        gallery = self._gallery()
        if gallery is not None and updated:
            found = gallery.search(vectors=np.stack([m.mean_embedding() for _, m in updated]), k=1, aggregate="min",
                                   threshold=self.threshold)  # fmt: skip
            for (tid, m), fm in zip(updated, found):
                best = fm.best
                ident = best.identity if best is not None and best.verified else "unknown"
                m.distance = best.distance if best is not None else None
                m.verified = bool(best is not None and best.verified)
                if ident != m.identity:
                    m.identity = ident
                    if ident != "unknown":
                        self.identities.add(ident)
                    events.append(Event("identified", tid, index, stamp, {"identity": ident, "distance": m.distance,
                                        "verified": m.verified, "frames": len(m.embeddings)}))  # fmt: skip
        return events

    def _tracked(self, tr: Track) -> TrackedFace:
        m = self._memory[tr.id]
        f = tr.face
        live = m.liveness
        thr = self.pipeline.analyzer.spoof_threshold() if live is not None else 0.0
        return TrackedFace(
            track_id=tr.id, box=f.box, score=f.score, landmarks=f.landmarks,
            identity=m.identity, distance=m.distance, verified=m.verified,
            identity_frames=len(m.embeddings) if m.identity is not None else 0,
            age=m.age, gender=m.gender, emotion=m.emotion, attribute_frames=m.attribute_frames,
            is_real=None if live is None else live >= thr, liveness=live, liveness_frames=len(m.live),
        )  # fmt: skip
