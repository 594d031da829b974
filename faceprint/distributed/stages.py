"""What runs on the cluster: read + hash + decode + detect + align (CPU tasks), embed (an actor pool).

Rows between the stages are one per face (``face >= 0``, the aligned crop as raw bytes), or one per
image without a face to embed (``face = -1``: ``status`` says why: no_face, error, stored). Each
row carries the image's face count, so the driver knows when an image is complete.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any

import numpy as np

from faceprint.augment import embed_augmented
from faceprint.errors import FaceprintError, ImageError, NoFaceError
from faceprint.image import DEFAULT_MAX_PIXELS

COLUMNS = ("key", "path", "identity", "size", "mtime", "status", "reason", "face", "n_faces",
           "x1", "y1", "x2", "y2", "score")  # fmt: skip


def read_bytes(path: str) -> tuple[bytes, float]:
    """The file's bytes and mtime (0 for object stores); local paths directly, URIs through pyarrow.fs."""
    from faceprint.distributed.sources import is_uri

    if not is_uri(path):
        with open(path, "rb") as f:
            return f.read(), os.fstat(f.fileno()).st_mtime
    from pyarrow import fs

    filesystem, inner = fs.FileSystem.from_uri(path)
    with filesystem.open_input_stream(inner) as f:
        return f.read(), 0.0


def done_array(hashes: set[str]) -> np.ndarray:
    """Stored content hashes as a sorted array of raw digests: 32 bytes each, shared read-only by every task."""
    return np.array(sorted(bytes.fromhex(h) for h in hashes), dtype="S32")


def _resolve(done: Any) -> np.ndarray | None:
    """The done array from its object ref (zero-copy out of Ray's object store; one fetch per task)."""
    if done is None or isinstance(done, np.ndarray):
        return done
    import ray

    return ray.get(done)


def is_done(done: np.ndarray | None, digest: bytes) -> bool:
    if done is None or not len(done):
        return False
    key = np.array([digest], dtype="S32")  # compared as arrays: numpy drops trailing NUL bytes of scalars
    i = int(np.searchsorted(done, key[0]))
    return i < len(done) and bool((done[i : i + 1] == key)[0])


@lru_cache(maxsize=2)
def _front_end(detector: str, model: str, align: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Any:
    """One detector per worker process and settings (Ray reuses worker processes across tasks; loading
    the detector per task would cost more than the task). The recognizer is not loaded here."""
    from faceprint.pipeline import Pipeline

    return Pipeline(detector, model, align=align, max_pixels=max_pixels)


def prepare(batch: dict[str, np.ndarray], *, detector: str, model: str, align: str, faces: str,
            done: Any = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, np.ndarray]:  # fmt: skip
    """Read, hash, skip what the target already stores (``done``: sorted raw sha256 digests, dtype S32),
    decode, detect, align: rows for the embedder. ``done`` may be an object ref of that array."""
    done = _resolve(done)
    pipe = _front_end(detector, model, align, max_pixels)
    rows: list[dict[str, Any]] = []
    crops: list[bytes] = []
    for path, identity in zip(batch["path"], batch["identity"]):
        path, identity = str(path), str(identity)
        base = {"path": path, "identity": identity, "size": 0, "mtime": 0.0, "key": "", "reason": "",
                "n_faces": 0, "face": -1, "x1": 0.0, "y1": 0.0, "x2": 0.0, "y2": 0.0, "score": 0.0}  # fmt: skip
        try:
            data, mtime = read_bytes(path)
        except OSError as exc:
            rows.append({**base, "status": "error", "reason": f"ImageNotFoundError: {path}: cannot read ({exc})"})
            crops.append(b"")
            continue
        digest = hashlib.sha256(data).digest()
        key = digest.hex()
        base.update(key=key, size=len(data), mtime=mtime)
        if is_done(done, digest):
            rows.append({**base, "status": "stored"})
            crops.append(b"")
            continue
        try:
            _, found, aligned = pipe.prepare_faces(data, faces=faces)  # as represent_stream does
        except NoFaceError:
            rows.append({**base, "status": "no_face", "reason": f"no face found by {detector}"})
            crops.append(b"")
            continue
        except (ImageError, FaceprintError) as exc:
            rows.append({**base, "status": "error", "reason": f"{type(exc).__name__}: {path}: {exc}"})
            crops.append(b"")
            continue
        for i, (face, crop) in enumerate(zip(found, aligned)):
            x1, y1, x2, y2 = face.box
            rows.append({**base, "status": "ok", "face": i, "n_faces": len(found), "x1": x1, "y1": y1, "x2": x2,
                         "y2": y2, "score": face.score})  # fmt: skip
            crops.append(np.ascontiguousarray(crop, np.uint8).tobytes())
    out = {c: np.array([r[c] for r in rows], dtype=object if c in ("key", "path", "identity", "status", "reason") else None)
           for c in COLUMNS}  # fmt: skip
    out["crop"] = np.array(crops, dtype=object)
    return out


class Embedder:
    """An actor of the embedding pool: the recognizer is loaded once, then embeds batch after batch."""

    def __init__(self, model: str, device: str = "cpu", tta: str = "none", num_jitters: int = 0) -> None:
        from faceprint.recognition import create_recognizer

        self.recognizer = create_recognizer(model, device=device)
        self.tta, self.num_jitters = tta, num_jitters  # the target's contract: the views averaged per face
        w, h = self.recognizer.spec.input_size or self.recognizer.alignment.size
        self.shape = (h, w, 3)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        face = np.asarray(batch["face"])
        idx = np.nonzero(face >= 0)[0]
        vecs = np.zeros((len(face), self.recognizer.dim), np.float32)
        if len(idx):
            crops = [np.frombuffer(batch["crop"][i], np.uint8).reshape(self.shape) for i in idx]
            vecs[idx] = embed_augmented(self.recognizer.embed, crops, self.tta, self.num_jitters)
        out = {c: batch[c] for c in COLUMNS}
        out["embedding"] = vecs
        out["pid"] = np.full(len(face), os.getpid(), np.int64)  # which actor process did it (tests kill it)
        return out
