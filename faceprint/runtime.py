"""Old import path of the model runtimes, kept for users' code (model classes of their own subclass
``LazyModel`` / ``BatchModel``): it lives in :mod:`faceprint.models.runtime`. Nothing inside faceprint
imports this module.
"""

from __future__ import annotations

from faceprint.models.runtime import BatchModel, LazyModel, onnx_session, torch_device, torch_load, torch_module

__all__ = ["BatchModel", "LazyModel", "onnx_session", "torch_device", "torch_load", "torch_module"]
