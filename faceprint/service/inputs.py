"""Request bodies: multipart uploads or JSON (base64 / data URIs / float arrays), and typed option parsing.

Images reach the library only as bytes, never as strings, so a client cannot make the server open a
path; ``{"path": ...}`` works only under the operator's ``allow_paths`` folders, resolved and checked
against traversal and symlinks. URLs are never fetched.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request

from faceprint.service.config import ServiceConfig
from faceprint.service.errors import Problem

_DATA_URI = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass
class Body:
    """Image fields (name → list of raw bytes, in order) and every other field as given."""

    images: dict[str, list[bytes]] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    json: bool = False

    def image(self, name: str) -> bytes:
        got = self.images.get(name)
        if not got:
            raise Problem("invalid-request", f"field {name!r} is required: an image upload (multipart) "
                                             "or a base64 string / data URI (JSON)", field=name)  # fmt: skip
        if len(got) > 1:
            raise Problem("invalid-request", f"field {name!r} takes one image, got {len(got)}", field=name)
        return got[0]


def decode_b64(text: str, name: str) -> bytes:
    payload = _DATA_URI.sub("", text.strip(), count=1)
    try:
        data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise Problem("bad-image", f"{name}: not valid base64 (send the image bytes base64-encoded or as a "
                                   "data: URI, or upload it as multipart/form-data)", field=name) from None  # fmt: skip
    if not data:
        raise Problem("bad-image", f"{name}: the image is empty (0 bytes)", field=name)
    return data


def _from_path(spec: str, name: str, cfg: ServiceConfig) -> bytes:
    if not cfg.allow_paths:
        raise Problem("forbidden", f"{name}: server-side paths are disabled on this server; upload the image instead",
                      field=name)  # fmt: skip
    for root in cfg.allow_paths:
        base = Path(root).resolve()
        target = (base / spec).resolve()
        if target.is_relative_to(base) and target.is_file():
            if target.stat().st_size > cfg.max_body_bytes:
                raise Problem("body-too-large", f"{name}: the file is larger than {cfg.max_body_bytes:,} bytes", field=name)
            return target.read_bytes()
    raise Problem("forbidden", f"{name}: {spec!r} is not a file inside the folders this server allows", field=name)


def _json_image(value: Any, name: str, cfg: ServiceConfig) -> bytes:
    if isinstance(value, str):
        return decode_b64(value, name)
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        return _from_path(value["path"], name, cfg)
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        return decode_b64(value["base64"], name)
    raise Problem("invalid-request", f"{name}: give a base64 string, a data: URI, or {{\"path\": ...}}", field=name)


async def read_body(request: Request, image_fields: tuple[str, ...], cfg: ServiceConfig) -> Body:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = Body()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=64, max_fields=64)
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                if key not in image_fields:
                    raise Problem("invalid-request", f"unexpected file field {key!r}; images go in "
                                                     f"{', '.join(image_fields)}", field=key)  # fmt: skip
                if not data:
                    raise Problem("bad-image", f"{key}: the uploaded image is empty (0 bytes)", field=key)
                body.images.setdefault(key, []).append(data)
            elif key in image_fields:
                body.images.setdefault(key, []).append(decode_b64(value, key))
            else:
                body.fields[key] = value
        return body
    if ctype in ("application/json", ""):
        raw = await request.body()
        if not raw and ctype == "":
            return body
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Problem("invalid-request", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Problem("invalid-request", "the JSON body must be an object")
        body.json = True
        for key, value in data.items():
            if key in image_fields:
                values = value if isinstance(value, list) else [value]
                body.images[key] = [_json_image(v, f"{key}[{i}]" if isinstance(value, list) else key, cfg)
                                    for i, v in enumerate(values)]  # fmt: skip
            else:
                body.fields[key] = value
        return body
    raise Problem("unsupported-media-type", f"content type {ctype!r} is not accepted; send multipart/form-data "
                                            "or application/json")  # fmt: skip


# -- options -----------------------------------------------------------------------------------------
def opt_bool(body: Body, name: str, default: bool) -> bool:
    v = body.fields.get(name)
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise Problem("invalid-option", f"{name} must be true or false, got {v!r}", field=name)


def opt_choice(body: Body, name: str, choices: tuple[str | None, ...], default: str | None) -> str | None:
    v = body.fields.get(name, default)
    if v == "":
        v = default
    if v not in choices:
        shown = ", ".join(c for c in choices if c is not None)
        raise Problem("invalid-option", f"{name} must be one of {shown}, got {v!r}", field=name)
    return v


def opt_number(body: Body, name: str, default: float | None, *, kind: type = float, lo: float | None = None,
               hi: float | None = None) -> Any:  # fmt: skip
    v = body.fields.get(name)
    if v is None or v == "":
        return default
    try:
        if isinstance(v, bool):
            raise ValueError
        x = kind(v)
        if kind is float and not np.isfinite(x):
            raise ValueError
    except (TypeError, ValueError):
        raise Problem("invalid-option", f"{name} must be a {'number' if kind is float else 'whole number'}, got {v!r}",
                      field=name) from None  # fmt: skip
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise Problem("invalid-option", f"{name} must be in [{lo}, {hi}], got {x}", field=name)
    return x


def opt_str(body: Body, name: str, *, required: bool = False, max_len: int = 200) -> str | None:
    v = body.fields.get(name)
    if v is None or v == "":
        if required:
            raise Problem("invalid-request", f"field {name!r} is required", field=name)
        return None
    if not isinstance(v, str) or len(v) > max_len or any(ord(c) < 32 for c in v):
        raise Problem("invalid-option", f"{name} must be a text of at most {max_len} printable characters", field=name)
    return v


def embeddings(body: Body, dim: int) -> np.ndarray | None:
    """``embedding`` (floats, or a list of float lists) or ``embedding_b64`` (one, little-endian float32) as (n, dim)."""
    if "embedding_b64" in body.fields:
        raw = body.fields["embedding_b64"]
        try:
            v = np.frombuffer(base64.b64decode(str(raw), validate=True), "<f4").astype(np.float32)
        except (binascii.Error, ValueError):
            raise Problem("invalid-request", "embedding_b64 must be base64 of little-endian float32 values") from None
    elif "embedding" in body.fields:
        try:
            v = np.asarray(body.fields["embedding"], np.float32)
        except (TypeError, ValueError):
            raise Problem("invalid-request", "embedding must be a list of numbers (or a list of such lists)") from None
    else:
        return None
    if v.size == 0 or v.ndim > 2 or v.shape[-1] != dim:  # one embedding (dim values) or a list of them
        raise Problem("contract-mismatch", f"embeddings of shape {list(v.shape)} do not fit this server's {dim}-d model")
    if not np.isfinite(v).all():
        raise Problem("invalid-option", "embedding contains NaN or infinity")
    return v.reshape(-1, dim)


def encode_embedding(v: np.ndarray, fmt: str) -> Any:
    if fmt == "b64":
        return base64.b64encode(np.asarray(v, "<f4").tobytes()).decode()
    return np.asarray(v).tolist()  # Python floats, as float(x) of each value gives, at C speed
