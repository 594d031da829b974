"""Face recognizers: one file each, all behind :class:`faceprint.recognition.base.Recognizer`."""

from __future__ import annotations

from typing import Any

from faceprint.models.registry import get
from faceprint.recognition.base import Recognizer


def create_recognizer(name: str | Recognizer = "dlib", **options: Any) -> Recognizer:
    """A recognizer by registry name (any alias) or an already made :class:`Recognizer`."""
    if isinstance(name, Recognizer):
        return name
    spec = get(name, "recognizer")
    return spec.load_class()(spec, **options)


__all__ = ["Recognizer", "create_recognizer"]
