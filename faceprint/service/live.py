"""The live-camera adapter: one frame (JPEG/PNG bytes) in, per-face boxes and identities out.

Backend today: per-frame detection + recognition through the service's :class:`faceprint.Pipeline`
(the worker pool and the micro-batcher), each face searched in a gallery when one is named. The
real-time video pipeline (``faceprint.video``, tracking and per-track embedding memory) was not in
this branch; it replaces :meth:`LiveAdapter.process` at merge, keeping the same output.
"""

from __future__ import annotations

import time
from typing import Any

from faceprint.errors import FaceprintError
from faceprint.service.engine import Engine, Prepared, named
from faceprint.service.galleries import Galleries


class LiveAdapter:
    backend = "pipeline"

    def __init__(self, engine: Engine, galleries: Galleries, gallery: str | None = None) -> None:
        self.engine, self.galleries, self.gallery = engine, galleries, gallery
        self.frames = 0

    def _prepare(self, data: bytes) -> Prepared:
        img = self.engine.load_image("frame", data)
        p = self.engine.pipeline
        try:
            faces = p.detect(img)
            faces, crops = p.align_faces(img, faces) if faces else ([], [])
        except FaceprintError as exc:
            raise named("frame", exc) from None
        return Prepared("frame", img, faces, crops)

    async def process(self, data: bytes) -> dict[str, Any]:
        t0 = time.perf_counter()
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
