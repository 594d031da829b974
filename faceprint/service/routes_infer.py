"""``/v1/verify``, ``/v1/represent``, ``/v1/detect``, ``/v1/analyze``."""

from __future__ import annotations

import base64
from typing import Any

import cv2
from fastapi import APIRouter, Depends, Request

from faceprint.analysis.analyze import parse_actions
from faceprint.config import DEFAULT_FACES, FACE_POLICIES
from faceprint.errors import ConfigError
from faceprint.service.errors import Problem
from faceprint.service.inputs import encode_embedding, opt_bool, opt_choice, opt_number, opt_str, read_body
from faceprint.service.openapi import ENFORCE, FACES, IMAGE_ERRORS, body, problems
from faceprint.service.security import require

router = APIRouter(prefix="/v1", tags=["inference"])
EMB_FORMAT = {"type": "string", "enum": ["float", "b64"], "description": "embeddings as JSON floats or base64 float32 LE"}


def _st(request: Request) -> Any:
    return request.app.state.fp


@router.post("/verify", summary="Are the faces in img1 and img2 the same person?", dependencies=[Depends(require("read"))],
             openapi_extra=body({"img1": "first photo", "img2": "second photo"}, {
                 "metric": {"type": "string", "enum": ["cosine", "euclidean", "euclidean_l2"]},
                 "threshold": {"type": "number"}, "faces": FACES, "enforce_detection": ENFORCE}),
             responses=problems(*IMAGE_ERRORS))  # fmt: skip
async def verify(request: Request) -> dict[str, Any]:
    st = _st(request)
    b = await read_body(request, ("img1", "img2"), st.cfg)
    items = [("img1", b.image("img1")), ("img2", b.image("img2"))]
    metric = opt_choice(b, "metric", (None, "cosine", "euclidean", "euclidean_l2"), None)
    threshold = opt_number(b, "threshold", None, lo=0.0)
    faces = opt_choice(b, "faces", FACE_POLICIES, DEFAULT_FACES)
    async with st.engine.admit():
        r = await st.engine.verify(items, metric=metric, threshold=threshold, faces=faces,
                                   enforce=opt_bool(b, "enforce_detection", True))  # fmt: skip
    return r.to_dict()


@router.post("/represent", summary="Embeddings of the faces in img", dependencies=[Depends(require("read"))],
             openapi_extra=body({"img": "photo"}, {"faces": FACES, "enforce_detection": ENFORCE,
                                                   "embedding_format": EMB_FORMAT}),
             responses=problems(*IMAGE_ERRORS))  # fmt: skip
async def represent(request: Request) -> dict[str, Any]:
    st = _st(request)
    b = await read_body(request, ("img",), st.cfg)
    data = b.image("img")
    faces = opt_choice(b, "faces", FACE_POLICIES, DEFAULT_FACES)
    fmt = opt_choice(b, "embedding_format", ("float", "b64"), "float")
    async with st.engine.admit():
        reps = await st.engine.represent("img", data, faces, opt_bool(b, "enforce_detection", True))
    rec = st.engine.pipeline.recognizer
    return {"model": rec.name, "detector": st.engine.pipeline.detector.name, "dim": int(rec.dim),
            "embedding_format": fmt,
            "faces": [{"embedding": encode_embedding(r.embedding, fmt), "face": r.face.to_dict()} for r in reps]}  # fmt: skip


@router.post("/detect", summary="Faces in img: boxes, scores, 5 landmarks, optional aligned crops (PNG, base64)",
             dependencies=[Depends(require("read"))],
             openapi_extra=body({"img": "photo"}, {"crops": {"type": "boolean", "default": False,
                                                             "description": "add each aligned crop as PNG base64"}}),
             responses=problems(*IMAGE_ERRORS))  # fmt: skip
async def detect(request: Request) -> dict[str, Any]:
    st = _st(request)
    b = await read_body(request, ("img",), st.cfg)
    data = b.image("img")
    crops = opt_bool(b, "crops", False)
    async with st.engine.admit():
        img, faces, crop_list = await st.engine.call(st.engine.detect, "img", data, crops)
    out = []
    for i, f in enumerate(faces):
        d = f.to_dict()
        if crops:
            ok, png = cv2.imencode(".png", crop_list[i])
            d["crop_png"] = base64.b64encode(png.tobytes()).decode() if ok else None
        out.append(d)
    return {"width": img.width, "height": img.height, "detector": st.engine.pipeline.detector.name, "faces": out}


@router.post("/analyze", summary="Age, gender, emotion (race when asked) of the faces in img",
             dependencies=[Depends(require("read"))],
             openapi_extra=body({"img": "photo"}, {
                 "actions": {"type": "string", "description": "comma-separated: age,gender,emotion,race"},
                 "anti_spoofing": {"type": "boolean", "default": False}, "faces": FACES, "enforce_detection": ENFORCE}),
             responses=problems(*IMAGE_ERRORS, "model-unavailable"))  # fmt: skip
async def analyze(request: Request) -> dict[str, Any]:
    st = _st(request)
    b = await read_body(request, ("img",), st.cfg)
    data = b.image("img")
    actions = opt_str(b, "actions")
    try:
        parse_actions(actions)
    except ConfigError as exc:
        raise Problem("invalid-option", str(exc), field="actions") from None
    faces = opt_choice(b, "faces", FACE_POLICIES, "all")
    async with st.engine.admit():
        res = await st.engine.call(st.engine.analyze, "img", data, actions, faces, opt_bool(b, "enforce_detection", True),
                                   opt_bool(b, "anti_spoofing", False))  # fmt: skip
    return {"faces": [r.to_dict() for r in res]}
