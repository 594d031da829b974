"""Keras 2 ``.h5``/``.hdf5`` files without TensorFlow: weights and model config read with h5py.

Two layouts are read: a whole-model file (``model_config`` attribute + ``model_weights`` group, from
``model.save``) and a weights-only file (layer groups at the root, from ``model.save_weights``).
Each layer group lists its arrays in the ``weight_names`` attribute, in Keras' own order.

The layers run on PyTorch through :mod:`faceprint.formats.keras_engine` (architectures written in
code) and :mod:`faceprint.formats.keras_graph` (a whole-model file's own ``model_config``).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any

import numpy as np

from faceprint.errors import DependencyError, WeightsFormatError


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise DependencyError("reading Keras .h5 weights needs h5py: pip install h5py") from exc
    return h5py


def _str(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def read_weights(path: Any, source: str | None = None) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {weight kind: array}}`` of a Keras 2 file (kind: "kernel", "bias", "gamma", ...), in file order.
    ``path`` may be a file-like object; ``source`` names it in messages."""
    h5py = _h5py()
    name = source or str(path)
    out: dict[str, dict[str, np.ndarray]] = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsFormatError(f"{name}: not a readable HDF5 file ({exc}); delete it and fetch it again") from None
    with f:
        root = f.get("model_weights", f)
        if "layer_names" not in root.attrs:
            raise WeightsFormatError(f"{name}: no 'layer_names' attribute; not a Keras 2 weights file")
        for layer in (_str(n) for n in root.attrs["layer_names"]):
            group = root[layer]
            arrays: dict[str, np.ndarray] = {}
            for wn in (_str(n) for n in group.attrs.get("weight_names", [])):
                kind = wn.rsplit("/", 1)[-1].split(":", 1)[0]  # "conv2d_1/kernel:0" → "kernel"
                arrays[kind] = np.asarray(group[wn])
            out[layer] = arrays
    return out


def read_config(path: str) -> dict[str, Any] | None:
    """The ``model_config`` JSON of a whole-model file, or None for a weights-only file."""
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
    return None if raw is None else json.loads(_str(raw))


def read_zipped_weights(path: str) -> dict[str, Any]:
    """Keras weights from an ``.h5`` file or from the single ``.h5`` inside a ``.zip``."""
    if not zipfile.is_zipfile(path):
        return read_weights(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith(".h5")]
            if len(names) != 1:
                raise WeightsFormatError(f"{path}: expected one .h5 file in the zip, found {names}")
            data = io.BytesIO(z.read(names[0]))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WeightsFormatError(f"{path}: damaged zip file ({exc}); delete it and fetch it again") from None
    return read_weights(data, source=f"{path} (its {names[0]})")  # h5py reads file-like objects too


def same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow "same" padding along one axis, (before, after): the odd pixel goes after, unlike a
    symmetric pad. Keras, TF.js and TF-trained PyTorch ports all need it."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2
