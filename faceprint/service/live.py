"""The live-camera adapter: one frame (JPEG/PNG bytes) in, per-face boxes and identities out.

Backend ``video`` (when ``faceprint[video]`` is installed): one :class:`faceprint.video.VideoPipeline`
per connection, on the service's loaded Pipeline, so faces keep a ``track_id`` across frames and each
track is identified from its own embeddings (not re-embedded every frame). Without it, backend
``pipeline``: per-frame detection + recognition through the service's :class:`faceprint.Pipeline` (the
worker pool and the micro-batcher), each face searched in the named gallery. Same output either way.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from faceprint.errors import FaceprintError
from faceprint.service.engine import Engine, Prepared, named
from faceprint.service.galleries import Galleries


class LiveAdapter:
    backend = "pipeline"

    def __init__(self, engine: Engine, galleries: Galleries, gallery: str | None = None,
                 metric: str | None = None) -> None:  # fmt: skip
        self.engine, self.galleries, self.gallery = engine, galleries, gallery
        self.frames = 0
        self._video: Any = None
        try:
            from faceprint.video import VideoPipeline
        except ImportError:  # faceprint[video] (scipy, av) not installed: per-frame pipeline
            return
        # a location, not the service's open Gallery: an embedded gallery's SQLite handle is tied to its thread
        db = galleries.location(gallery) if gallery else None
        # the video pipeline fits the detector's min face size to the camera: give it its own detector object
        # (sharing the loaded model) so the service's other requests keep theirs
        pipe = copy.copy(engine.pipeline)
        pipe.detector = copy.copy(pipe.detector)
        self._video = VideoPipeline(db=db, pipeline=pipe, background=False, metric=metric)
        self.backend = "video"

    def close(self) -> None:
        if self._video is not None:
            self._video.close()

    def _track(self, data: bytes) -> dict[str, Any]:
        img = self.engine.load_image("frame", data)
        try:
            return self._video.process(img.pixels).to_dict()
        except FaceprintError as exc:
            raise named("frame", exc) from None

    def _prepare(self, data: bytes) -> Prepared:
        img = self.engine.load_image("frame", data)
        p = self.engine.pipeline
        try:
            faces = p.detect(img, retry=False)  # a camera frame: an empty one is common
            faces, crops = p.align_faces(img, faces) if faces else ([], [])
        except FaceprintError as exc:
            raise named("frame", exc) from None
        return Prepared("frame", img, faces, crops)

    async def process(self, data: bytes) -> dict[str, Any]:
        t0 = time.perf_counter()
        if self._video is not None:
            # one frame at a time per connection (the route awaits each reply), so the pipeline sees one thread at a time
            reply = await self.engine.call(self._track, data)
            self.frames += 1
            return {**reply, "frame": self.frames, "backend": self.backend, "ms": (time.perf_counter() - t0) * 1000}
        prep = await self.engine.call(self._prepare, data)
        out: list[dict[str, Any]] = [{"box": list(f.box), "score": f.score} for f in prep.faces]
        if prep.crops and self.gallery:
            vectors = await self.engine.embed(prep.crops)
            results = await self.galleries.search(self.gallery, vectors, 1, None, None)
            for face, fm in zip(out, results):
                best = fm.best
                if best is not None:
                    face.update(identity=best.identity if best.verified else None, distance=best.distance,
                                verified=best.verified, nearest=best.identity)  # fmt: skip
        self.frames += 1
        return {"frame": self.frames, "width": prep.image.width, "height": prep.image.height, "faces": out,
                "backend": self.backend, "ms": (time.perf_counter() - t0) * 1000}  # fmt: skip
