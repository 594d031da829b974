"""Service settings: defaults, a TOML file (``--config``), then command-line overrides."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from faceprint.errors import ConfigError

#: the web page's files, served by the app
STATIC = Path(__file__).parent / "static"

SCOPES = ("read", "write", "admin")


def faceprint_home() -> Path:
    return Path(os.environ.get("FACEPRINT_HOME", Path.home() / ".faceprint"))


@dataclass(frozen=True)
class ServiceConfig:
    """Every knob of ``faceprint serve``; the TOML file uses the same names (top level or ``[serve]``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: galleries live here: a folder (one sub-folder per gallery) or postgresql://... (one table set per gallery)
    db: str | None = None
    detector: str = "mtcnn"
    model: str = "dlib"
    align: str = "template"
    device: str = "cpu"
    #: also load the analysis models (age, gender, emotion) at start-up; otherwise on first /v1/analyze
    preload_analysis: bool = False
    #: threads that decode, detect and align (the recognizer runs in the micro-batcher's thread)
    workers: int = 4
    batching: bool = True
    batch_size: int = 32
    batch_wait_ms: float = 5.0
    #: requests admitted at once (running + waiting); more get 503 with Retry-After
    queue_size: int = 64
    max_body_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    request_timeout_s: float = 60.0
    #: API keys file (SQLite); default $FACEPRINT_HOME/keys.sqlite
    keys_file: str | None = None
    #: scope given to requests without a key: None (refuse them), "read", "write" or "admin"
    anonymous: str | None = None
    #: requests per minute per key (per client address for anonymous requests); 0 = unlimited
    rate_limit_per_minute: int = 600
    #: origins allowed by CORS; empty = CORS off
    cors_origins: tuple[str, ...] = ()
    #: folders whose images clients may name by path ({"path": ...}); empty = no server-side paths
    allow_paths: tuple[str, ...] = ()
    #: /metrics without a key (for a scraper on a private network)
    public_metrics: bool = False
    #: the live-camera WebSocket (/v1/live)
    live: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.anonymous not in (None, *SCOPES):
            raise ConfigError(f"anonymous must be one of {', '.join(SCOPES)} or absent, got {self.anonymous!r}")
        for name in ("workers", "batch_size", "queue_size", "max_body_bytes", "max_pixels"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0 <= self.batch_wait_ms <= 1000:
            raise ConfigError(f"batch_wait_ms must be in [0, 1000], got {self.batch_wait_ms!r}")
        if self.rate_limit_per_minute < 0:
            raise ConfigError(f"rate_limit_per_minute must be >= 0, got {self.rate_limit_per_minute!r}")

    def pipeline_config(self) -> Any:
        """The :class:`faceprint.config.PipelineConfig` of the models the service loads (``detector`` and
        ``model`` may also be model objects, as tests pass fakes)."""
        from faceprint.config import PipelineConfig

        return PipelineConfig(self.detector, self.model, align=self.align, device=self.device)

    @property
    def keys_path(self) -> Path:
        return Path(self.keys_file) if self.keys_file else faceprint_home() / "keys.sqlite"

    def with_overrides(self, **values: Any) -> ServiceConfig:
        """A copy with the given non-None values (command-line flags) applied."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> ServiceConfig:
    """Defaults ← the TOML file (if any) ← ``overrides`` (None values ignored)."""
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: not valid TOML ({exc})") from None
        data = data.get("serve", data)
        known = {f.name for f in fields(ServiceConfig)} - {"extra"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{p}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for k, v in data.items():
            values[k] = tuple(v) if isinstance(v, list) else v
    try:
        return ServiceConfig(**values).with_overrides(**overrides)
    except TypeError as exc:
        raise ConfigError(f"bad service setting: {exc}") from None
