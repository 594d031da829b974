"""A file-backed cache of embeddings per pipeline, so a rerun (another metric, a new threshold) costs nothing.

Entries are keyed by path, size and modification time; a changed file is embedded again. The file
is rewritten atomically (temp file + rename), so an interrupted run leaves the last saved state usable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._emb: dict[str, np.ndarray] = {}
        self._err: dict[str, str] = {}
        self.dirty = 0
        if path.is_file():
            with np.load(path, allow_pickle=False) as z:
                for k, e, err in zip(z["keys"], z["embs"], z["errs"]):
                    if err:
                        self._err[str(k)] = str(err)
                    else:
                        self._emb[str(k)] = e

    @staticmethod
    def key(path: Path) -> str:
        try:
            st = path.stat()
        except OSError:
            return f"{path.resolve()}|missing"
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def __len__(self) -> int:
        return len(self._emb) + len(self._err)

    def get(self, path: Path) -> np.ndarray | str | None:
        """The embedding, the failure reason, or None if not cached."""
        k = self.key(path)
        return self._emb.get(k, self._err.get(k))

    def put(self, path: Path, value: np.ndarray | str) -> None:
        k = self.key(path)
        if isinstance(value, str):
            self._err[k] = value
        else:
            self._emb[k] = np.asarray(value, np.float32)
        self.dirty += 1

    def save(self) -> None:
        keys = list(self._emb) + list(self._err)
        dim = next((len(v) for v in self._emb.values()), 0)
        embs = np.zeros((len(keys), dim), np.float32)
        for i, k in enumerate(self._emb):
            embs[i] = self._emb[k]
        errs = [""] * len(self._emb) + [self._err[k] for k in self._err]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp.npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, keys=np.array(keys, dtype=str), embs=embs, errs=np.array(errs, dtype=str))
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.dirty = 0
