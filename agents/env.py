"""Numeric settings read from environment variables, each checked in one place."""

from __future__ import annotations

import os
from typing import Callable, TypeVar

from .errors import ConfigError

N = TypeVar("N", int, float)


def env_number(name: str, kind: Callable[[str], N], default: N | None, *, minimum: N, expected: str) -> N | None:
    """``$name`` read as ``kind`` (``int`` or ``float``), at least ``minimum``; ``default`` when
    unset or blank. Anything else is a `ConfigError` naming the variable and what it expects."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ConfigError(f"{name}={raw!r}: expected {expected}")
    return value


__all__ = ["env_number"]
