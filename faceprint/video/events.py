"""JSON-lines event log: one object per line, each with ``event``, ``track_id``, ``frame`` and ``timestamp``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from faceprint.errors import ConfigError
from faceprint.video.types import Event


class EventLog:
    """Appends events to ``path`` as they happen, flushed per frame, so a tail -f sees them live."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._f: IO[str] | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115  (closed in close())
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot write the events file ({exc.strerror})") from None
        self.count = 0

    def write(self, events: Iterable[Event]) -> None:
        if self._f is None:
            return
        wrote = False
        for e in events:
            self._f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
            self.count += 1
            wrote = True
        if wrote:
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def read_events(path: str | os.PathLike[str]) -> list[dict]:
    """The events of a JSON-lines file, in order."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
