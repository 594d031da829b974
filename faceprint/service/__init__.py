"""``faceprint serve``: the REST service (FastAPI + uvicorn) on top of the library.

Modules: config (TOML), auth (hashed API keys, scopes, rate limit), errors (problem+json),
batching (micro-batcher), engine (the pipeline split into prepare / embed), galleries, metrics,
routes_* (HTTP), live (WebSocket adapter), app (the factory), cli (``serve`` and ``keys``).
Nothing here is imported by ``import faceprint``.
"""
