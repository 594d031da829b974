"""Per-request context: the request id (in every response header, problem body and log line)."""

from __future__ import annotations

import contextvars
import logging
import re
import secrets

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("faceprint_request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when it is short and safe to log, else a fresh one."""
    return given if given and _SAFE_ID.match(given) else secrets.token_hex(8)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request), for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True
