"""API keys (stored as SHA-256 hashes in SQLite), scopes, and a per-key token-bucket rate limit.

A key reads ``fp_<id>_<secret>``: ``id`` (8 hex) finds the row, the secret (32 random bytes,
url-safe base64) is compared by hash in constant time. Keys are random and long, so a plain
SHA-256 suffices (a slow password hash protects guessable secrets, not these).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from faceprint.errors import ConfigError, StoreError
from faceprint.service.config import SCOPES

_SCHEMA = """CREATE TABLE IF NOT EXISTS keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL,
    hash TEXT NOT NULL, created REAL NOT NULL, revoked REAL)"""


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scope: str
    created: float
    revoked: float | None = None

    def allows(self, needed: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(needed)

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "scope": self.scope, "created": self.created, "revoked": self.revoked}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """The keys file. Each call opens its own connection, so any thread may use one KeyStore."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # check() answers from memory while the file is unchanged (a key created or revoked by
        # `faceprint keys` rewrites it), instead of opening SQLite on every request
        self._cache: dict[str, ApiKey | None] = {}
        self._cache_stamp: tuple[int, int, int] | None = None
        self._cache_lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{self.path}: cannot open the API keys file ({exc})") from None
        return db

    def create(self, name: str, scope: str = "read") -> tuple[str, ApiKey]:
        """A new key: (the secret to give out once, its stored record)."""
        if scope not in SCOPES:
            raise ConfigError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        rec = ApiKey(key_id, name, scope, time.time())
        db = self._db()
        try:
            db.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, NULL)", (key_id, name, scope, _hash(secret), rec.created))
        finally:
            db.close()
        return f"fp_{key_id}_{secret}", rec

    def list(self) -> list[ApiKey]:
        db = self._db()
        try:
            rows = db.execute("SELECT id, name, scope, created, revoked FROM keys ORDER BY created").fetchall()
        finally:
            db.close()
        return [ApiKey(*r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        db = self._db()
        try:
            cur = db.execute("UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL", (time.time(), key_id))
        finally:
            db.close()
        return cur.rowcount > 0

    def check(self, token: str) -> ApiKey | None:
        """The live key for this token, or None (unknown, malformed, wrong secret or revoked)."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "fp" or len(parts[1]) != 8:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        stamp, digest = (st.st_mtime_ns, st.st_size, st.st_ino), _hash(token)
        with self._cache_lock:
            if stamp != self._cache_stamp or len(self._cache) > 4096:
                self._cache, self._cache_stamp = {}, stamp
            elif digest in self._cache:
                return self._cache[digest]
        key = self._lookup(parts[1], parts[2])
        with self._cache_lock:
            if stamp == self._cache_stamp:
                self._cache[digest] = key
        return key

    def _lookup(self, key_id: str, secret: str) -> ApiKey | None:
        db = self._db()
        try:
            row = db.execute("SELECT id, name, scope, created, revoked, hash FROM keys WHERE id = ?", (key_id,)).fetchone()
        finally:
            db.close()
        if row is None or not hmac.compare_digest(row[5], _hash(secret)) or row[4] is not None:
            return None
        return ApiKey(*row[:5])


class RateLimiter:
    """Token buckets, one per client key: ``per_minute`` requests per minute, bursts up to the same."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0.0 if the request may go, else the seconds until it could."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 100_000:  # bounded memory: forget full buckets
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.capacity}
            return (1.0 - tokens) / self.rate
