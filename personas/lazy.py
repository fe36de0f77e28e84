"""Lazy package exports (PEP 562), written once for every package that wants them.

A package lists ``name -> submodule`` and gets a module ``__getattr__`` that imports the
submodule on first use, so importing the package costs nothing (no pydantic, no SDK). It lives
in `personas` only because that is the one package every other may import.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` for ``package``: ``exports`` maps a name to its submodule (relative)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(import_module(f".{exports[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
