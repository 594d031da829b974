"""Who is calling: API key → scope, anonymous access when configured, per-key rate limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from faceprint.service.auth import ApiKey
from faceprint.service.errors import Problem

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer fp_...`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key, alternative header")


def caller(request: HTTPConnection, token: str | None) -> ApiKey | None:
    """The key's record, None for an anonymous caller; 401 for a wrong key or no key where one is needed."""
    st = request.app.state.fp
    if token:
        key = st.keys.check(token)
        if key is None:
            raise Problem("unauthorized", "the API key is unknown, malformed or revoked",
                          headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        return key
    if st.cfg.anonymous is None:
        raise Problem("unauthorized", "send an API key: Authorization: Bearer fp_... (create one with "
                                      "`faceprint keys create NAME --scope read`)", headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return None


def check(request: HTTPConnection, token: str | None, scope: str) -> ApiKey | None:
    st = request.app.state.fp
    key = caller(request, token)
    have = key.scope if key is not None else st.cfg.anonymous
    if not ApiKey("", "", have, 0.0).allows(scope):
        raise Problem("forbidden", f"this route needs scope {scope!r}; the caller has {have!r}")
    client = f"key:{key.id}" if key is not None else f"ip:{request.client.host if request.client else '?'}"
    wait = st.limiter.take(client)
    if wait > 0:
        raise Problem("rate-limited", f"over {st.cfg.rate_limit_per_minute} requests per minute; retry in {wait:.1f} s",
                      headers={"Retry-After": str(max(1, int(wait + 0.999)))})  # fmt: skip
    request.state.key_id = key.id if key is not None else "anonymous"
    return key


def require(scope: str) -> Callable[..., Any]:
    """A dependency: the route needs ``scope`` (read < write < admin). Async, so FastAPI runs it on the
    event loop instead of a thread hop per request (key checks are answered from memory)."""

    async def dependency(
        request: Request,
        cred: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008 - FastAPI's idiom
        header: str | None = Depends(api_key_header),
    ) -> ApiKey | None:
        return check(request, cred.credentials if cred is not None else header, scope)

    return dependency
