"""Runtimes: ONNX Runtime sessions and torch devices that report what actually runs, and the lazily
loaded model objects every detector, recognizer and analysis model is built on."""

from __future__ import annotations

import logging
import os
import re
import threading
import weakref
from abc import ABC, abstractmethod
from typing import Any

from faceprint.errors import ConfigError, DependencyError, DeviceError, WeightsFormatError
from faceprint.models.specs import ModelSpec, WeightFile

log = logging.getLogger("faceprint")

_PROVIDERS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def onnx_session(model: str | bytes, device: str = "cpu", threads: int | None = None) -> Any:
    """An onnxruntime InferenceSession for a file path or serialized model, on ``device`` ("cpu", "cuda" or "auto").

    Raises :class:`DeviceError` when "cuda" is asked for and onnxruntime cannot use it,
    instead of silently running on the CPU.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise DependencyError("onnxruntime is required: pip install onnxruntime") from exc
    available = ort.get_available_providers()
    if device == "auto":
        device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
    if device not in _PROVIDERS:
        raise DeviceError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'auto'")
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise DeviceError(f"device='cuda' asked for, but onnxruntime offers only {available}; install onnxruntime-gpu")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    # Idle pool threads sleep instead of spinning: on a 2-core machine shared with other work,
    # spinning doubled the CPU time of each call and slowed it (docs/speed.md).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    what = model if isinstance(model, str) else f"an in-memory model of {len(model)} bytes"
    try:
        sess = ort.InferenceSession(model, sess_options=opts, providers=_PROVIDERS[device])
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise WeightsFormatError(f"{what}: not a loadable ONNX model ({type(exc).__name__}: {exc})") from exc
    if device == "cuda" and sess.get_providers()[0] != "CUDAExecutionProvider":
        raise DeviceError(f"CUDA provider failed to initialise for {what}; providers: {sess.get_providers()}")
    log.debug("onnx session for %s on %s", what, sess.get_providers()[0])
    return sess


def torch_module() -> Any:
    """The ``torch`` module, or a DependencyError that says how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise DependencyError("this model runs on PyTorch: pip install 'faceprint[torch]' (here: pip install torch==2.13.0)") from exc
    return torch


_TORCH_ADVICE = re.compile(r"(?is)this file can still be loaded.*?(?=\n\s*\n|$)|re-?running `?torch\.load`?.*?(?=\n|$)"
                           r"|.*weights_only.*(?:false|arbitrary code).*(?:\n|$)")


def torch_load(path: str | os.PathLike[str]) -> Any:
    """``torch.load(path, weights_only=True)``: tensors only, never pickled code. A bad file raises
    WeightsFormatError naming it; torch's advice to retry with ``weights_only=False`` (which would run
    code from the file) is left out of the message."""
    torch = torch_module()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        why = _TORCH_ADVICE.sub("", str(exc)).strip() or type(exc).__name__
        why = " ".join(why.split())[:300]
        raise WeightsFormatError(f"{path}: not a readable PyTorch state dict of plain tensors ({type(exc).__name__}: "
                                 f"{why}); it is not the expected file: delete it and fetch it again") from None  # fmt: skip


def torch_device(device: str) -> Any:
    """A torch.device for "cpu" | "cuda" | "auto"; raises instead of silently falling back to the CPU."""
    torch = torch_module()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device='cuda' asked for, but PyTorch sees no CUDA GPU")
    if device not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'auto'")
    return torch.device(device)


def _where(value: Any, depth: int = 0) -> str | None:
    """The ONNX Runtime provider or torch device of a loaded model: a session, a torch device,
    tensor or module, or one inside the tuples, dicts and small holders the models return."""
    if depth > 3 or value is None:
        return None
    kind = type(value)
    if kind.__name__ == "InferenceSession":
        return str(value.get_providers()[0])
    if kind.__module__.split(".")[0] == "torch":
        if kind.__name__ == "device":
            return str(value)
        if hasattr(value, "dtype"):  # a tensor
            return str(value.device)
        if hasattr(value, "parameters"):  # a module
            return next((str(p.device) for p in value.parameters()), None)
        return None
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, tuple | list):
        items = value
    else:  # holders such as MTCNN's nets: look at the few attribute names they use, nothing else
        items = [v for name in ("sessions", "nets", "session", "device") if (v := getattr(value, name, None)) is not None]
    for item in items:
        found = _where(item, depth + 1)
        if found:
            return found
    return None


class _Loaded:
    """Holds one loaded model; lives while some model object refers to it."""

    __slots__ = ("__weakref__", "value")

    def __init__(self, value: Any) -> None:
        self.value = value


#: loaded models shared by model objects with the same load key, so that a second Pipeline of the
#: same model reuses the first one's weights instead of parsing the file again; weak, so a model
#: is freed when the last object using it is
_SHARED: weakref.WeakValueDictionary[tuple, _Loaded] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()
#: one lock per key being loaded, so that two threads asking for the same model load it once
_LOADING: dict[tuple, threading.Lock] = {}


class LazyModel(ABC):
    """A model object that resolves its weight files and loads them once, on first use (thread-safe).

    Subclasses whose loaded model is read-only and safe to use from several threads set
    ``shareable = True``; objects with equal :meth:`load_key` then share one loaded copy.
    """

    shareable = False

    def __init__(self, spec: ModelSpec, weights: dict[str, str] | None = None) -> None:
        self.spec = spec
        self._weights = weights or {}
        self._model: Any = None
        self._holder: _Loaded | None = None
        self._lock = threading.Lock()

    @property
    def runs_on(self) -> str:
        """Where the model actually runs (loads it): an ONNX Runtime provider such as
        "CPUExecutionProvider" / "CUDAExecutionProvider", a torch device such as "cuda:0", or "cpu"
        for models run by dlib or OpenCV."""
        return _where(self._ensure_loaded()) or "cpu"

    def load_options(self) -> tuple:
        """The constructor options that change what :meth:`_load` returns (part of the load key)."""
        return ()

    def load_files(self) -> tuple[WeightFile, ...]:
        """The weight files :meth:`_load` reads."""
        return self.spec.files

    def load_key(self) -> tuple:
        """Class, the whole spec, options, device and each loaded file's path, size and mtime."""
        files = []
        for wf in self.load_files():
            path = self.weight_path(wf)
            st = os.stat(path)
            files.append((path, st.st_size, st.st_mtime_ns))
        return (type(self).__module__, type(self).__qualname__, repr(self.spec),
                getattr(self, "device", None), self.load_options(), tuple(files))  # fmt: skip

    @property
    def name(self) -> str:
        return self.spec.name

    def weight_path(self, wf: WeightFile) -> str:
        """Local path of ``wf``: the caller's override for its name, else the weight store's lookup."""
        from faceprint.models.weights import resolve

        return str(resolve(wf, self._weights.get(wf.name)))

    def _ensure_loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load_shared() if self.shareable else self._load()
        return self._model

    def _load_shared(self) -> Any:
        key = self.load_key()
        with _SHARED_LOCK:
            holder = _SHARED.get(key)
            loading = _LOADING.setdefault(key, threading.Lock()) if holder is None else None
        if loading is not None:
            try:
                with loading:  # not the global lock: loads of other models go on meanwhile
                    with _SHARED_LOCK:
                        holder = _SHARED.get(key)
                    if holder is None:
                        holder = _Loaded(self._load())
                        with _SHARED_LOCK:
                            _SHARED[key] = holder
            finally:
                with _SHARED_LOCK:
                    _LOADING.pop(key, None)
        self._holder = holder  # keeps the shared copy alive as long as this object
        return holder.value

    @abstractmethod
    def _load(self) -> Any:
        """Load the model files; called once, on first use."""


class BatchModel(LazyModel):
    """A lazily loaded network that runs batches of inputs on a chosen device."""

    def __init__(
        self, spec: ModelSpec, *, weights: dict[str, str] | None = None, device: str = "cpu", batch_size: int = 32
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        super().__init__(spec, weights)
        self.device = device
        self.batch_size = batch_size
