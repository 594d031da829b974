"""OpenAPI fragments for routes that read their body by hand (multipart or JSON, one schema each)."""

from __future__ import annotations

from typing import Any

from faceprint.config import FACE_POLICIES
from faceprint.service.errors import KINDS, PROBLEM_JSON

FACES = {"type": "string", "enum": list(FACE_POLICIES),
         "description": "which faces to use: main (the subject: large and central), largest, best or all"}
ENFORCE = {"type": "boolean", "default": True, "description": "false: use the whole image when no face is found"}


def body(images: dict[str, str], fields: dict[str, dict[str, Any]], *, many: tuple[str, ...] = ()) -> dict[str, Any]:
    """A requestBody accepting multipart uploads or JSON with base64 / data URIs for the image fields."""
    multipart: dict[str, Any] = {}
    js: dict[str, Any] = {}
    for name, desc in images.items():
        one_file = {"type": "string", "format": "binary", "description": desc}
        one_b64 = {"type": "string", "description": f"{desc}: base64 or a data: URI"}
        multipart[name] = {"type": "array", "items": one_file} if name in many else one_file
        js[name] = {"type": "array", "items": one_b64} if name in many else one_b64
    for name, schema in fields.items():
        multipart[name] = {**schema, "type": "string"} if schema.get("type") in ("boolean", "number", "integer") else schema
        js[name] = schema
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": multipart}},
        "application/json": {"schema": {"type": "object", "properties": js}},
    }}}  # fmt: skip


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting the problem codes a route can answer with."""
    by_status: dict[int, list[str]] = {}
    for c in (*codes, "unauthorized", "forbidden", "rate-limited", "internal"):
        by_status.setdefault(KINDS[c].status, []).append(c)
    return {
        s: {"description": "problem+json; code: " + ", ".join(cs), "content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}
        for s, cs in sorted(by_status.items())
    }


IMAGE_ERRORS = ("bad-image", "unsupported-image", "image-too-large", "body-too-large", "no-face", "invalid-request",
                "invalid-option", "overloaded", "timeout")  # fmt: skip
