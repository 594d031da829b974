"""The ASGI app factory: state, middleware (request id, access log, body limit, CORS), problem handlers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceprint.service import context
from faceprint.service.auth import KeyStore, RateLimiter
from faceprint.service.config import STATIC, ServiceConfig
from faceprint.service.engine import Engine
from faceprint.service.errors import KINDS, PROBLEM_JSON, Problem, from_exception
from faceprint.service.galleries import Galleries
from faceprint.service.metrics import Metrics, service_metrics

log = logging.getLogger("faceprint.service")


@dataclass
class ServiceState:
    cfg: ServiceConfig
    metrics: Metrics
    engine: Engine
    galleries: Galleries
    keys: KeyStore
    limiter: RateLimiter


def problem_response(p: Problem) -> JSONResponse:
    return JSONResponse(p.body(context.request_id.get()), status_code=p.status, headers=p.headers, media_type=PROBLEM_JSON)


class RequestMiddleware:
    """Outermost layer: request id in and out, the body limit, one access-log line and metrics per request."""

    def __init__(self, app: ASGIApp, cfg: ServiceConfig, metrics: Metrics) -> None:
        self.app, self.cfg, self.metrics = app, cfg, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        rid = context.new_request_id(headers.get("x-request-id"))
        token = context.request_id.set(rid)
        t0 = time.perf_counter()
        status = {"code": 0}

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        limit = self.cfg.max_body_bytes
        seen = {"n": 0}

        async def receive_limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen["n"] += len(message.get("body", b""))
                if seen["n"] > limit:
                    raise Problem("body-too-large", f"the request body is larger than {limit:,} bytes")
            return message

        try:
            if scope["type"] == "http" and int(headers.get("content-length") or 0) > limit:
                p = Problem("body-too-large", f"the request body ({int(headers['content-length']):,} bytes) is "
                                              f"larger than the limit of {limit:,} bytes")  # fmt: skip
                self.metrics.inc("faceprint_errors_total", code=p.code)
                await problem_response(p)(scope, receive, send_wrapped)
            else:
                await self.app(scope, receive_limited if scope["type"] == "http" else receive, send_wrapped)
        finally:
            if scope["type"] == "http":
                route = scope.get("route")
                path = getattr(route, "path", None) or "unmatched"
                dt = time.perf_counter() - t0
                self.metrics.inc("faceprint_requests_total", route=path, method=scope["method"], status=str(status["code"]))
                self.metrics.observe("faceprint_request_seconds", dt, route=path)
                log.info("%s %s %s %.1f ms", scope["method"], scope["path"], status["code"], dt * 1000)
            context.request_id.reset(token)


def _install_handlers(app: FastAPI, metrics: Metrics) -> None:
    def respond(p: Problem) -> JSONResponse:
        metrics.inc("faceprint_errors_total", code=p.code)
        if p.status >= 500:
            log.warning("%s: %s", p.code, p.detail)
        return problem_response(p)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return respond(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        what = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in errs[:5])
        return respond(Problem("invalid-request", what or "the request is malformed"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(exc.status_code, "invalid-request")
        detail = exc.detail if isinstance(exc.detail, str) else KINDS[code].title
        return respond(Problem(code, detail))

    @app.exception_handler(Exception)
    async def _any(_: Request, exc: Exception) -> JSONResponse:
        p = from_exception(exc)
        if p is None:  # a bug or an unexpected failure: the trace goes to the log, never to the client
            log.error("unhandled error", exc_info=exc)
            p = Problem("internal", "internal error; the operator can find it in the log under this request id")
        elif p.code in ("model-unavailable", "store-unavailable"):
            log.error("%s: %s", p.code, exc)
        return respond(p)


def create_app(cfg: ServiceConfig | None = None) -> FastAPI:
    """The service for ``cfg``. Models load in a background thread at start-up (``/readyz`` tells when)."""
    from faceprint.service import routes_galleries, routes_infer, routes_live, routes_ops

    cfg = cfg or ServiceConfig()
    metrics = service_metrics()
    holder: dict[str, ServiceState] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = Engine(cfg, metrics)
        st = ServiceState(cfg, metrics, engine, Galleries(cfg), KeyStore(cfg.keys_path), RateLimiter(cfg.rate_limit_per_minute))
        metrics.gauge("faceprint_queue_depth", "faces waiting for the recognizer", lambda: engine.batcher.depth)
        metrics.gauge("faceprint_requests_in_progress", "requests admitted and not yet answered", lambda: engine.in_flight)
        metrics.gauge("faceprint_ready", "1 when the models are loaded", lambda: float(engine.ready.is_set()))
        app.state.fp = holder["st"] = st
        threading.Thread(target=engine.load, name="faceprint-load", daemon=True).start()
        try:
            yield
        finally:
            st.galleries.close()
            engine.close()

    app = FastAPI(
        title="faceprint",
        version=_version(),
        description="Face recognition over HTTP: detect, represent, verify, analyze, and galleries to search. "
                    "Errors are RFC 9457 problem+json with a stable `code`; every response has an `X-Request-ID`.",
        lifespan=lifespan,
        docs_url=None,  # /docs below serves Swagger UI from local files, never from a CDN
        redoc_url=None,
    )  # fmt: skip
    _install_handlers(app, metrics)
    for module in (routes_infer, routes_galleries, routes_ops, routes_live):
        app.include_router(module.router)
    _docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if cfg.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cfg.cors_origins), allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Retry-After"])  # fmt: skip
    app.add_middleware(RequestMiddleware, cfg=cfg, metrics=metrics)
    return app


def _docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        swagger_ui_path = None
    if swagger_ui_path is not None:
        app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if swagger_ui_path is None:
            return HTMLResponse('<!doctype html><title>faceprint API</title><p>Interactive docs need '
                                "<code>pip install swagger-ui-bundle-v2</code>; the schema is at "
                                '<a href="/openapi.json">/openapi.json</a>.</p>')  # fmt: skip
        return get_swagger_ui_html(openapi_url="/openapi.json", title="faceprint API",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger/favicon-32x32.png")  # fmt: skip


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("faceprint")
    except Exception:
        return "0"


def state(request: Any) -> ServiceState:
    return request.app.state.fp
