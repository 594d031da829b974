"""``/`` (the page), ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/models``, ``/problems/{code}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse

from faceprint.service.config import STATIC
from faceprint.service.errors import KINDS, Problem
from faceprint.service.security import check

router = APIRouter(tags=["operations"])


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Models are loaded and requests can be served")
async def readyz(request: Request) -> JSONResponse:
    eng = request.app.state.fp.engine
    if eng.ready.is_set():
        return JSONResponse({"status": "ready", "runs_on": eng.pipeline.runs_on()})
    if eng.load_error:
        raise Problem("model-unavailable", "the models could not be loaded; see the server log")
    raise Problem("not-ready", "models are still loading", headers={"Retry-After": "2"})


@router.get("/metrics", summary="Prometheus text metrics (admin key unless public_metrics)",
            response_class=PlainTextResponse)  # fmt: skip
async def metrics(request: Request) -> PlainTextResponse:
    st = request.app.state.fp
    if not st.cfg.public_metrics:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key")
        check(request, token, "admin")
    return PlainTextResponse(st.metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/v1/models", summary="The models this server runs, and the registry", tags=["inference"])
async def models(request: Request) -> dict[str, Any]:
    from faceprint.models.registry import specs

    st = request.app.state.fp
    p = st.engine.pipeline
    rec = p.recognizer.spec
    return {
        "serving": {"detector": p.detector.name, "recognizer": rec.name, "align": p.align, "dim": rec.embedding_dim,
                    "metric": rec.default_metric, "thresholds": dict(rec.thresholds),
                    "batching": st.cfg.batching, "batch_size": st.cfg.batch_size, "batch_wait_ms": st.cfg.batch_wait_ms},
        "registry": [{"name": s.name, "task": s.task, "aliases": list(s.aliases), "license": s.license,
                      "commercial_use": s.commercial_use} for s in specs()],
    }  # fmt: skip


@router.get("/problems/{code}", summary="What a problem code means", tags=["operations"])
async def problem_type(code: str) -> dict[str, Any]:
    kind = KINDS.get(code)
    if kind is None:
        raise Problem("not-found", f"no problem code {code!r}")
    return {"code": code, "status": kind.status, "title": kind.title}
