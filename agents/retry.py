"""Retry policy: exponential backoff with full jitter, honouring Retry-After.

Only `ProviderError`s marked ``retryable`` (429, 5xx, timeouts, dropped connections) are
retried; 400/401/404 fail at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, Field

from .errors import ProviderError

if TYPE_CHECKING:
    from .breaker import CircuitBreaker

T = TypeVar("T")


class RetryPolicy(BaseModel):
    max_attempts: int = Field(6, ge=1, description="Attempts in all, the first included.")
    initial: float = Field(0.5, ge=0, description="First backoff in seconds.")
    maximum: float = Field(30.0, ge=0, description="Cap on one backoff, and on Retry-After.")
    multiplier: float = Field(2.0, ge=1)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.maximum)
        ceiling = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def after_drop(dropped: ProviderError | None, final: ProviderError) -> ProviderError:
    """The error to report when a server dropped a request and later calls failed too: say
    that it died mid-request first (the later "cannot connect" is its consequence)."""
    if dropped is None or final.dropped:
        return final
    return ProviderError(f"{dropped}; after that: {final}", status=final.status)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: Callable[[ProviderError, int, float], None] | None = None,
    breaker: "CircuitBreaker | None" = None,
) -> T:
    """``call`` until it succeeds, fails permanently or runs out of attempts; with a
    ``breaker``, a dead endpoint fails every caller at once with the breaker's one reason."""
    attempt = 1
    dropped: ProviderError | None = None
    while True:
        if breaker is not None:
            breaker.check()
        try:
            result = await call()
        except ProviderError as err:
            if err.dropped and dropped is None:
                dropped = err
            if breaker is not None and breaker.failed(err):
                raise after_drop(dropped, breaker.error()) from None
            if not err.retryable or attempt >= policy.max_attempts:
                if dropped is not None and not err.dropped:
                    raise after_drop(dropped, err) from None
                raise
            wait = policy.delay(attempt, err.retry_after)
            if on_retry is not None:
                on_retry(err, attempt, wait)
            await asyncio.sleep(wait)
            attempt += 1
        else:
            if breaker is not None:
                breaker.succeeded()
            return result
