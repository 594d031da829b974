"""Read TensorFlow.js weights: a ``*-weights_manifest.json`` plus the binary shards it names.

The manifest is a list of groups, each ``{"paths": [shard, ...], "weights": [{name, shape, dtype,
quantization?}, ...]}``; a group's shards are one byte stream cut into files, holding its tensors back
to back in order. A tensor is stored as its ``dtype`` (float32, int32, ...) or, when ``quantization``
is given, as ``quantization.dtype``: uint8/uint16 mapped back affinely (``q * scale + min``) or
float16. No TensorFlow is needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from faceprint.errors import WeightsFormatError

_STORED = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "uint8": np.dtype("u1"),
           "uint16": np.dtype("<u2"), "float16": np.dtype("<f2"), "bool": np.dtype("u1")}  # fmt: skip
_OUT = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def _entry_dtype(path: Path, w: dict) -> tuple[np.dtype, str, dict | None]:
    """(stored dtype, dtype after decoding, quantization) of one manifest entry."""
    name, dtype, quant = w.get("name"), w.get("dtype", "float32"), w.get("quantization")
    if dtype not in _OUT:
        raise WeightsFormatError(f"{path}: tensor {name!r} has dtype {dtype!r}; readable: {', '.join(_OUT)}")
    if quant is None:
        return _STORED[dtype], dtype, None
    qd = quant.get("dtype")
    if qd in ("uint8", "uint16"):
        if not isinstance(quant.get("scale"), int | float) or not isinstance(quant.get("min"), int | float):
            raise WeightsFormatError(f"{path}: tensor {name!r}: {qd} quantization needs numeric 'scale' and 'min'")
    elif qd != "float16":
        raise WeightsFormatError(f"{path}: tensor {name!r} is quantized as {qd!r}; readable: uint8, uint16, float16")
    return _STORED[qd], dtype, quant


def read_manifest(path: str | os.PathLike) -> list[dict]:
    """The manifest's groups, checked for the fields the reader needs."""
    path = Path(path)
    try:
        groups = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WeightsFormatError(f"{path}: TF.js weights manifest not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsFormatError(f"{path}: not a readable TF.js weights manifest ({exc})") from exc
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise WeightsFormatError(f"{path}: a TF.js weights manifest is a JSON list of groups")
    for g in groups:
        if not isinstance(g.get("paths"), list) or not isinstance(g.get("weights"), list):
            raise WeightsFormatError(f"{path}: every group needs 'paths' and 'weights' lists")
        for w in g["weights"]:
            shape = w.get("shape") if isinstance(w, dict) else None
            if not isinstance(w, dict) or not isinstance(w.get("name"), str) or not isinstance(shape, list) \
                    or not all(isinstance(d, int) and d >= 0 for d in shape):  # fmt: skip
                raise WeightsFormatError(f"{path}: weight entry {w!r} needs a 'name' and a 'shape' of sizes")
    return groups


def load_weights(manifest: str | os.PathLike, shard_dir: str | os.PathLike | None = None,
                 shards: dict[str, str | os.PathLike] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Every tensor of a TF.js weights manifest, decoded to float32 (int32/bool stay so), by name.

    Shards are looked up in ``shards`` (shard path as written in the manifest → local path), else
    in ``shard_dir`` (default: the manifest's folder). Raises :class:`WeightsFormatError` naming the
    file for a missing or truncated shard, an unknown dtype, or bytes left over.
    """
    manifest = Path(manifest)
    base = Path(shard_dir) if shard_dir is not None else manifest.parent
    out: dict[str, np.ndarray] = {}
    for group in read_manifest(manifest):
        files = [Path(shards[p]) if shards and p in shards else base / Path(p).name for p in group["paths"]]
        chunks = []
        for f in files:
            try:
                chunks.append(f.read_bytes())
            except OSError as exc:
                raise WeightsFormatError(f"{f}: shard named by {manifest} cannot be read ({exc})") from exc
        data, offset = b"".join(chunks), 0
        where = files[0] if len(files) == 1 else f"shards {', '.join(str(f) for f in files)}"
        for w in group["weights"]:
            stored, dtype, quant = _entry_dtype(manifest, w)
            count = int(np.prod(w["shape"], dtype=np.int64))
            nbytes = count * stored.itemsize
            if offset + nbytes > len(data):
                raise WeightsFormatError(
                    f"{where}: truncated: tensor {w['name']!r} {w['shape']} needs bytes {offset}..{offset + nbytes},"
                    f" the shard holds {len(data)} (manifest {manifest})"
                )
            raw = np.frombuffer(data, stored, count, offset).reshape(w["shape"])
            offset += nbytes
            if quant is not None and quant["dtype"] != "float16":
                arr = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
            else:
                arr = raw
            out[w["name"]] = arr.astype(_OUT[dtype], copy=True)
        if offset != len(data):
            raise WeightsFormatError(
                f"{where}: {len(data) - offset} bytes left after the last tensor of {manifest}: "
                "the shard does not belong to this manifest"
            )
    return out


def take(weights: dict[str, np.ndarray], name: str, shape: tuple[int, ...], source: str | os.PathLike) -> np.ndarray:
    """``weights[name]``, checked to exist and to have ``shape``."""
    if name not in weights:
        raise WeightsFormatError(f"{source}: no tensor {name!r} (the file holds {len(weights)} tensors)")
    arr = weights[name]
    if tuple(arr.shape) != tuple(shape):
        raise WeightsFormatError(f"{source}: tensor {name!r} has shape {tuple(arr.shape)}, expected {tuple(shape)}")
    return arr
