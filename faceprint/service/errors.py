"""RFC 9457 problem+json: faceprint's typed errors mapped to HTTP statuses with stable codes.

Every problem body has ``type`` (``/problems/<code>``), ``title``, ``status``, ``detail``, ``code``
and ``request_id``. ``detail`` is the error's own message (which names the input and what to do);
an unexpected exception becomes a 500 ``internal`` whose detail says only to quote the request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faceprint import errors as fe

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ProblemKind:
    status: int
    title: str


#: code → (status, title); codes are stable, clients may switch on them
KINDS: dict[str, ProblemKind] = {
    "bad-image": ProblemKind(400, "The image could not be read"),
    "unsupported-image": ProblemKind(415, "Unsupported image type or layout"),
    "unsupported-media-type": ProblemKind(415, "Unsupported request content type"),
    "image-too-large": ProblemKind(413, "The image has too many pixels"),
    "body-too-large": ProblemKind(413, "The request body is too large"),
    "no-face": ProblemKind(422, "No face found"),
    "spoof": ProblemKind(422, "The face looks like a presentation attack"),
    "invalid-request": ProblemKind(400, "The request is malformed"),
    "invalid-option": ProblemKind(400, "An option has an invalid value"),
    "unknown-model": ProblemKind(400, "Unknown model"),
    "unauthorized": ProblemKind(401, "A valid API key is required"),
    "forbidden": ProblemKind(403, "This key's scope does not allow this"),
    "not-found": ProblemKind(404, "No such resource"),
    "gallery-not-found": ProblemKind(404, "No such gallery"),
    "gallery-exists": ProblemKind(409, "The gallery already exists"),
    "contract-mismatch": ProblemKind(409, "Embeddings do not match the gallery's contract"),
    "rate-limited": ProblemKind(429, "Too many requests for this key"),
    "overloaded": ProblemKind(503, "The service is at capacity"),
    "not-ready": ProblemKind(503, "Models are still loading"),
    "model-unavailable": ProblemKind(503, "A model's weights are not available on the server"),
    "store-unavailable": ProblemKind(503, "The gallery storage is unavailable"),
    "timeout": ProblemKind(504, "The request took too long"),
    "method-not-allowed": ProblemKind(405, "Method not allowed"),
    "internal": ProblemKind(500, "Internal error"),
}

#: most specific first: the first class the error is an instance of decides
_MAPPING: tuple[tuple[type[BaseException], str], ...] = (
    (fe.ImageTooLargeError, "image-too-large"),
    (fe.UnsupportedImageError, "unsupported-image"),
    (fe.ImageError, "bad-image"),
    (fe.NoFaceError, "no-face"),
    (fe.SpoofError, "spoof"),
    (fe.ContractError, "contract-mismatch"),
    (fe.ModelNotFoundError, "unknown-model"),
    (fe.ConfigError, "invalid-option"),
    (fe.WeightsMissingError, "model-unavailable"),
    (fe.DependencyError, "model-unavailable"),
    (fe.StoreError, "store-unavailable"),
)


_SERVER_SIDE = {"model-unavailable", "store-unavailable"}


class Problem(Exception):
    """An error the service answers with: a code from :data:`KINDS`, a detail, optional headers/extra fields."""

    def __init__(self, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        if code not in KINDS:
            raise KeyError(code)
        super().__init__(detail)
        self.code, self.detail, self.headers, self.extra = code, detail, dict(headers or {}), extra

    @property
    def status(self) -> int:
        return KINDS[self.code].status

    def body(self, request_id: str) -> dict[str, Any]:
        kind = KINDS[self.code]
        return {"type": f"/problems/{self.code}", "title": kind.title, "status": kind.status, "detail": self.detail,
                "code": self.code, "request_id": request_id, **self.extra}  # fmt: skip


def from_exception(exc: BaseException) -> Problem | None:
    """The problem for one of faceprint's typed errors, or None for anything else (→ 500)."""
    if isinstance(exc, Problem):
        return exc
    for cls, code in _MAPPING:
        if isinstance(exc, cls):
            if code in _SERVER_SIDE:  # their messages name server files and folders: logged, not sent
                return Problem(code, "the server is missing a model file or cannot reach its storage; "
                                     "the operator can find the cause in the log under this request id")
            return Problem(code, _safe_detail(str(exc)))
    return None


def _safe_detail(text: str) -> str:
    # inputs reach the library as bytes, so messages name "<bytes>", never a server path; cap the length anyway
    return text if len(text) <= 1000 else text[:1000] + "…"
