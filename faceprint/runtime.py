"""ONNX Runtime sessions: one factory that reports the provider actually used."""

from __future__ import annotations

import logging
from typing import Any

from faceprint.errors import DependencyError, DeviceError

log = logging.getLogger("faceprint")

_PROVIDERS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def onnx_session(path: str, device: str = "cpu", threads: int | None = None) -> Any:
    """An onnxruntime InferenceSession on ``device`` ("cpu", "cuda" or "auto").

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
    sess = ort.InferenceSession(path, sess_options=opts, providers=_PROVIDERS[device])
    if device == "cuda" and sess.get_providers()[0] != "CUDAExecutionProvider":
        raise DeviceError(f"CUDA provider failed to initialise for {path}; providers: {sess.get_providers()}")
    log.debug("onnx session %s on %s", path, sess.get_providers()[0])
    return sess
