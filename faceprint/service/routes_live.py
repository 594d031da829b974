"""``/v1/live``: a WebSocket for the camera mode.

The first message is text, ``{"key": "fp_...", "gallery": "NAME"}`` (both optional: anonymous
callers where allowed, no identities without a gallery); the key travels in the message, not in the
URL, so no access log can record it. The server answers ``{"ready": true, "backend": ...}`` or a
problem object and closes. Then send binary frames (JPEG/PNG); each gets one JSON reply:
``{"frame", "width", "height", "faces": [{"box", "score", "identity", "distance", "verified"}], "ms"}``
(backend ``video`` adds each face's ``track_id`` and the frame's track ``events``),
or a problem object ``{"code", "detail", ...}`` for a bad frame. One frame is processed at a time per
connection: a client that sends faster waits for the replies.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from faceprint.service import context
from faceprint.service.errors import Problem, from_exception
from faceprint.service.live import LiveAdapter
from faceprint.service.security import check

router = APIRouter(tags=["live"])


@router.websocket("/v1/live")
async def live(ws: WebSocket) -> None:
    st = ws.app.state.fp
    await ws.accept()
    try:
        if not st.cfg.live:
            raise Problem("not-found", "the live endpoint is disabled on this server")
        try:
            hello = json.loads(await asyncio.wait_for(ws.receive_text(), 30))
        except (TimeoutError, ValueError, KeyError, TypeError):
            raise Problem("invalid-request", 'send {"key": ..., "gallery": ...} as the first (text) message') from None
        if not isinstance(hello, dict):
            raise Problem("invalid-request", "the first message must be a JSON object")
        check(ws, hello.get("key") or None, "read")
        gallery = hello.get("gallery") or None
        metric = None
        if gallery is not None:
            about = await st.galleries.describe(str(gallery))  # 404 now rather than at the first face
            metric = (about.get("contract") or {}).get("metric")  # search it with the metric it was made with
    except WebSocketDisconnect:
        return
    except Problem as p:
        await ws.send_json(p.body(context.request_id.get()))
        await ws.close(code=1008)
        return
    adapter = LiveAdapter(st.engine, st.galleries, gallery, metric)
    await ws.send_json({"ready": True, "backend": adapter.backend, "gallery": gallery})
    try:
        while True:
            data = await ws.receive_bytes()
            if len(data) > st.cfg.max_body_bytes:
                await ws.send_json(Problem("body-too-large", f"frame over {st.cfg.max_body_bytes:,} bytes").body(context.request_id.get()))
                continue
            try:
                async with st.engine.admit():
                    reply = await adapter.process(data)
            except Exception as exc:
                p = from_exception(exc) or Problem("internal", "internal error")
                reply = p.body(context.request_id.get())
            await ws.send_json(reply)
    except WebSocketDisconnect:
        return
    finally:
        adapter.close()
