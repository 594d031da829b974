"""``faceprint serve`` and ``faceprint keys create|list|revoke``. Exit codes: 0 ok, 2 bad input, 1 other failure."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add ``serve`` and ``keys`` to the main parser's sub-parsers (argparse only; nothing heavy imported)."""
    p = sub.add_parser("serve", help="run the REST service and web page (FastAPI + uvicorn)")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--db", default=None, help="galleries: a folder, or postgresql://user@host/db")
    p.add_argument("--config", default=None, help="faceprint.toml with the service settings")
    p.add_argument("--detector", default=None, help="face detector loaded at start-up (default: the config's, else mtcnn)")
    p.add_argument("--model", default=None, help="recognizer loaded at start-up (default: the config's, else dlib)")
    from faceprint.cli_options import add_device

    add_device(p, default=None)
    p.add_argument("--workers", type=int, default=None, help="decode/detect/align threads (default 4)")
    p.add_argument("--no-batching", dest="batching", action="store_const", const=False, default=None,
                   help="embed each request's faces on its own (no micro-batching)")
    p.add_argument("--anonymous", default=None, choices=("read", "write", "admin"),
                   help="scope given to requests without an API key (default: refuse them)")
    p.add_argument("--keys-file", default=None, help="API keys file (default $FACEPRINT_HOME/keys.sqlite)")
    p = sub.add_parser("keys", help="API keys of the service: create, list, revoke")
    p.add_argument("action", choices=("create", "list", "revoke"), help="create a key (printed once) | list keys | revoke ID")
    p.add_argument("name", nargs="?", help="create: a label for the key; revoke: the key id")
    p.add_argument("--scope", default="read", choices=("read", "write", "admin"),
                   help="create: what the key may do; write includes read, admin includes write (default read)")
    p.add_argument("--keys-file", default=None, help="API keys file (default $FACEPRINT_HOME/keys.sqlite)")
    p.add_argument("--config", default=None, help="take keys_file from this faceprint.toml")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from faceprint.service.config import load_config

    if args.cmd == "keys":
        return _keys(args, load_config(args.config, keys_file=args.keys_file))
    cfg = load_config(args.config, host=args.host, port=args.port, db=args.db, detector=args.detector,
                      model=args.model, device=getattr(args, "device", None), workers=args.workers, batching=args.batching, anonymous=args.anonymous,
                      keys_file=args.keys_file)  # fmt: skip
    return serve(cfg, verbose=getattr(args, "verbose", False))


def _keys(args: argparse.Namespace, cfg: Any) -> int:
    from faceprint.service.auth import KeyStore

    store = KeyStore(cfg.keys_path)
    if args.action == "create":
        if not args.name:
            print("faceprint: error: keys create needs a NAME (a label, e.g. who uses the key)", file=sys.stderr)
            return 2
        secret, rec = store.create(args.name, args.scope)
        if args.json:
            print(json.dumps({"key": secret, **rec.to_dict()}))
        else:
            print(f"{secret}\n(key id {rec.id}, scope {rec.scope}; shown once, stored only as a hash in {cfg.keys_path})")
        return 0
    if args.action == "revoke":
        if not args.name:
            print("faceprint: error: keys revoke needs the key id (see `faceprint keys list`)", file=sys.stderr)
            return 2
        if not store.revoke(args.name):
            print(f"faceprint: error: no live key with id {args.name!r}", file=sys.stderr)
            return 2
        print(f"revoked {args.name}")
        return 0
    keys = store.list()
    if args.json:
        print(json.dumps([k.to_dict() for k in keys], indent=2))
    else:
        for k in keys:
            print(f"{k.id}  {k.scope:<5}  {'revoked' if k.revoked else 'live   '}  {k.name}")
    return 0


def configure_logging(verbose: bool = False) -> None:
    """One format for the service's and uvicorn's lines, each with the request id."""
    from faceprint.service.context import RequestIdFilter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    for name in ("faceprint", "uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = [handler]
        lg.propagate = False
        lg.setLevel(logging.DEBUG if verbose else logging.INFO)


def serve(cfg: Any, *, verbose: bool = False) -> int:
    try:
        import uvicorn
    except ImportError:
        print("faceprint: error: the service needs: pip install 'faceprint[serve]'", file=sys.stderr)
        return 1
    from faceprint.service.app import create_app

    configure_logging(verbose)
    uvicorn.run(create_app(cfg), host=cfg.host, port=cfg.port, log_config=None, access_log=False,
                timeout_keep_alive=5, timeout_graceful_shutdown=10)  # fmt: skip
    return 0
