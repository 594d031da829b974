"""``/v1/live``: a WebSocket for the camera mode. Send binary frames (JPEG/PNG); get one JSON reply each.

Browsers cannot set headers on a WebSocket, so the key comes as ``?key=`` (never logged: the access
log writes the path only). Replies: ``{"frame", "width", "height", "faces": [{"box", "score",
"identity", "distance", "verified"}], "ms"}`` or a problem object ``{"code", "detail", ...}``.
One frame is processed at a time per connection: a client that sends faster waits for replies.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from faceprint.service import context
from faceprint.service.errors import Problem, from_exception
from faceprint.service.live import LiveAdapter
from faceprint.service.security import check

router = APIRouter(tags=["live"])


@router.websocket("/v1/live")
async def live(ws: WebSocket) -> None:
    st = ws.app.state.fp
    try:
        if not st.cfg.live:
            raise Problem("not-found", "the live endpoint is disabled on this server")
        check(ws, ws.query_params.get("key"), "read")
        gallery = ws.query_params.get("gallery") or None
        if gallery is not None:
            await st.galleries.describe(gallery)  # 404 now rather than at the first face
    except Problem as p:
        await ws.accept()
        await ws.send_json(p.body(context.request_id.get()))
        await ws.close(code=1008)
        return
    await ws.accept()
    adapter = LiveAdapter(st.engine, st.galleries, gallery)
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
