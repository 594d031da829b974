"""Lazy package attributes (PEP 562): each name is imported from its module on first access, so
importing a package loads none of its heavy modules."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, names: Mapping[str, str], cache: dict[str, Any] | None = None, also: tuple[str, ...] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``names`` ({attribute: module}); ``__dir__`` lists
    them and ``also``. With ``cache`` (the package's ``globals()``) a resolved name is stored there, so
    later lookups skip the hook."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        if cache is not None:
            cache[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*names, *also})

    return __getattr__, __dir__
