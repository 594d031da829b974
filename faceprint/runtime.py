"""ONNX Runtime sessions: one factory that reports the provider actually used."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Any

from faceprint.errors import ConfigError, DependencyError, DeviceError
from faceprint.registry import ModelSpec, WeightFile

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
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model, sess_options=opts, providers=_PROVIDERS[device])
    what = model if isinstance(model, str) else f"an in-memory model of {len(model)} bytes"
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


class LazyModel(ABC):
    """A model object that resolves its weight files and loads them once, on first use (thread-safe)."""

    def __init__(self, spec: ModelSpec, weights: dict[str, str] | None = None) -> None:
        self.spec = spec
        self._weights = weights or {}
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.name

    def weight_path(self, wf: WeightFile) -> str:
        """Local path of ``wf``: the caller's override for its name, else the weight store's lookup."""
        from faceprint.weights import resolve

        return str(resolve(wf, self._weights.get(wf.name)))

    def _ensure_loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

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
