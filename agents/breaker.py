"""A circuit breaker per endpoint: a dead server fails the remaining work fast, with one reason.

Without it, every conversation of a batch retried a refused port on its own: 300
conversations took 1,800 connection attempts and 117 s. After ``threshold`` consecutive
connection failures (nothing listening, connect or read timeout) on one endpoint, every call
to it fails at once with the same error until ``cooldown`` seconds have passed; then one call
is let through, and a success closes the breaker. Any answer from the server (even a 429 or
500) shows it is alive and resets the count. Failed conversations keep their reason in the
replay results, so ``--resume --retry-failed`` redoes them once the endpoint is back.

``IMPROV_CIRCUIT_FAILURES`` sets the threshold (default 5; 0 turns the breaker off).
"""

from __future__ import annotations

import asyncio
import time
import weakref

from .env import env_number
from .errors import ConfigError, ProviderConfigError, ProviderError

DEFAULT_THRESHOLD = 5
DEFAULT_COOLDOWN = 30.0

# Exception class names (SDK and httpx) that mean "no connection", not "the server answered".
_CONNECTION_NAMES = {"APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout", "PoolTimeout"}


class ConnectionFailure(ProviderError):
    """A backend may raise this (retryable, no status) for "could not reach the server"."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


def is_connection_failure(err: ProviderError) -> bool:
    if isinstance(err, ConnectionFailure):
        return True
    if err.status is not None or not err.retryable:
        return False
    seen = 0
    cause: BaseException | None = err.__cause__ or err.__context__
    while cause is not None and seen < 10:  # the SDK error the provider mapped (raised `from None`)
        if type(cause).__name__ in _CONNECTION_NAMES:
            return True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return False


class CircuitBreaker:
    def __init__(self, threshold: int = DEFAULT_THRESHOLD, cooldown: float = DEFAULT_COOLDOWN) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None
        self._reason: str | None = None
        self._config = False

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None and time.monotonic() - self.opened_at < self.cooldown

    def error(self) -> ProviderError:
        """A fresh error with the one reason (a new instance each time: tasks raise it concurrently)."""
        cls = ProviderConfigError if self._config else ProviderError
        return cls(self._reason or "endpoint unreachable")

    def check(self) -> None:
        """Raise at once while the breaker is open."""
        if self.is_open:
            raise self.error()

    def failed(self, err: ProviderError) -> bool:
        """Count ``err``; True when the breaker is open (the caller raises `error`, not ``err``)."""
        if not is_connection_failure(err):
            self.failures = 0
            return self.is_open
        self.failures += 1
        if self.failures >= self.threshold and not self.is_open:
            self.opened_at = time.monotonic()
            if self._reason is None:  # keep the first reason: every skipped item gets the same one
                self._reason = (f"{err} (circuit open after {self.failures} connection failures in a row; "
                                "the rest of the work fails fast)")
                self._config = isinstance(err, ConfigError)
        return self.is_open

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._reason = None


# One breaker per (event loop, endpoint), like the concurrency limits in `agents.model`.
_breakers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, CircuitBreaker]]" = (
    weakref.WeakKeyDictionary()
)


def threshold_from_env() -> int:
    return env_number("IMPROV_CIRCUIT_FAILURES", int, DEFAULT_THRESHOLD, minimum=0,
                      expected="a whole number (0 turns the breaker off)")


def breaker_for(endpoint: str) -> CircuitBreaker | None:
    """The breaker of ``endpoint`` in the running loop (None when turned off)."""
    threshold = threshold_from_env()
    if threshold == 0:
        return None
    per_loop = _breakers.setdefault(asyncio.get_running_loop(), {})
    breaker = per_loop.get(endpoint)
    if breaker is None:
        breaker = per_loop[endpoint] = CircuitBreaker(threshold)
    return breaker
