"""Galleries: create, list, enrol, list faces (paged), delete faces or identities, search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from faceprint.service.errors import Problem
from faceprint.service.inputs import embeddings, opt_choice, opt_number, opt_str, read_body
from faceprint.service.openapi import IMAGE_ERRORS, body, problems
from faceprint.service.security import require

router = APIRouter(prefix="/v1/galleries", tags=["galleries"])
GALLERY_ERRORS = ("gallery-not-found", "contract-mismatch", "store-unavailable")


class NewGallery(BaseModel):
    name: str = Field(description="1-40 of a-z, 0-9, _; starts with a letter")
    metric: str | None = Field(None, description="cosine | euclidean | euclidean_l2 (default: the model's)")


def _st(request: Request) -> Any:
    return request.app.state.fp


@router.post("", status_code=201, summary="Create a gallery bound to this server's model", dependencies=[Depends(require("admin"))],
             responses=problems("gallery-exists", "invalid-option", "store-unavailable"))  # fmt: skip
async def create_gallery(request: Request, spec: NewGallery) -> dict[str, Any]:
    return await _st(request).galleries.create(spec.name, spec.metric)


@router.get("", summary="List galleries", dependencies=[Depends(require("read"))], responses=problems("store-unavailable"))
async def list_galleries(request: Request) -> dict[str, Any]:
    g = _st(request).galleries
    out = []
    for n in await g.names():
        try:
            out.append(await g.describe(n))
        except Problem as p:  # one unusable gallery (e.g. another model's) does not hide the others
            out.append({"name": n, "error": p.code, "detail": p.detail})
    return {"galleries": out}


@router.get("/{name}", summary="One gallery's size and contract", dependencies=[Depends(require("read"))],
            responses=problems(*GALLERY_ERRORS))  # fmt: skip
async def get_gallery(request: Request, name: str) -> dict[str, Any]:
    return await _st(request).galleries.describe(name)


@router.post("/{name}/faces", status_code=201, summary="Enrol one or many photos (or embeddings) of one identity",
             dependencies=[Depends(require("write"))],
             openapi_extra=body({"img": "photo(s) of the person"}, {
                 "identity": {"type": "string"},
                 "embedding": {"type": "array", "items": {"type": "number"}, "description": "JSON only, instead of img"},
                 "embedding_b64": {"type": "string", "description": "JSON only: base64 float32 LE, instead of img"}},
                 many=("img",)),
             responses=problems(*IMAGE_ERRORS, *GALLERY_ERRORS))  # fmt: skip
async def enrol(request: Request, name: str) -> dict[str, Any]:
    st = _st(request)
    b = await read_body(request, ("img",), st.cfg)
    identity = str(opt_str(b, "identity", required=True))
    vectors = embeddings(b, int(st.engine.pipeline.recognizer.dim))
    if vectors is not None:
        ids = await st.galleries.enrol_vectors(name, vectors, identity)
        return {"identity": identity, "faces": len(ids), "ids": ids}
    images = b.images.get("img") or []
    if not images:
        raise Problem("invalid-request", "give one or more images in 'img' (or an embedding)", field="img")
    async with st.engine.admit():
        fields = [f"img[{i}]" if len(images) > 1 else "img" for i in range(len(images))]
        decoded = [await st.engine.call(st.engine.load_image, f, d) for f, d in zip(fields, images)]
        # checked here (named errors, the service's pixel limit); embedded from the bytes, as search decodes them
        report = await st.galleries.enrol(name, [(f, im.pixels, d) for f, im, d in zip(fields, decoded, images)], identity)
    if report["faces"] == 0 and report["no_face"]:
        raise Problem("no-face", f"no face found in {', '.join(report['no_face'])}; nothing was enrolled", report=report)
    return report


@router.get("/{name}/faces", summary="Enrolled faces, paged", dependencies=[Depends(require("read"))],
            responses=problems(*GALLERY_ERRORS))  # fmt: skip
async def list_faces(request: Request, name: str, offset: int = Query(0, ge=0),
                     limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:  # fmt: skip
    return await _st(request).galleries.faces(name, offset, limit)


@router.delete("/{name}/faces/{face_id}", summary="Delete a face (with the other faces enrolled from the same photo)",
               dependencies=[Depends(require("write"))], responses=problems(*GALLERY_ERRORS, "not-found"))  # fmt: skip
async def delete_face(request: Request, name: str, face_id: int) -> dict[str, Any]:
    return {"deleted": await _st(request).galleries.delete_face(name, face_id)}


@router.delete("/{name}/identities/{identity}", summary="Delete every face of one identity",
               dependencies=[Depends(require("write"))], responses=problems(*GALLERY_ERRORS, "not-found"))  # fmt: skip
async def delete_identity(request: Request, name: str, identity: str) -> dict[str, Any]:
    return {"deleted": await _st(request).galleries.delete_identity(name, identity)}


@router.post("/{name}/search", summary="Closest enrolled faces (or identities) for each face of img",
             dependencies=[Depends(require("read"))],
             openapi_extra=body({"img": "query photo"}, {
                 "k": {"type": "integer", "default": 5}, "aggregate": {"type": "string", "enum": ["min", "mean"]},
                 "threshold": {"type": "number"},
                 "embedding": {"type": "array", "items": {"type": "number"}, "description": "JSON only, instead of img"},
                 "embedding_b64": {"type": "string"}}),
             responses=problems(*IMAGE_ERRORS, *GALLERY_ERRORS))  # fmt: skip
async def search(request: Request, name: str) -> dict[str, Any]:
    st = _st(request)
    b = await read_body(request, ("img",), st.cfg)
    k = opt_number(b, "k", 5, kind=int, lo=1, hi=1000)
    aggregate = opt_choice(b, "aggregate", (None, "min", "mean"), None)
    threshold = opt_number(b, "threshold", None, lo=0.0)
    vectors = embeddings(b, int(st.engine.pipeline.recognizer.dim))
    if vectors is not None:
        query: Any = vectors
    else:
        data = b.image("img")
        async with st.engine.admit():
            query = await st.engine.represent("img", data, "all", True)
    results = await st.galleries.search(name, query, k, aggregate, threshold)
    return {"gallery": name, "aggregate": aggregate, "results": [r.to_dict() for r in results]}
