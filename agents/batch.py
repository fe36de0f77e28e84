"""Provider batch APIs (OpenAI Batch, Anthropic Message Batches) behind one public interface.

A backend that has one returns a `BatchClient` from ``Backend.batches(retry)`` (its
capabilities say ``batch``); `Model.batches()` is the way in from above `agents`. The client
builds each request exactly as the synchronous path would (the backend's own request builder),
submits them, reports the batch's status, and returns the results as `Completion`s or
`ProviderError`s, so callers never touch a backend's internals or an SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ProviderError
from .retry import RetryPolicy, with_retries
from .sdk import sdk_errors
from .types import Completion, GenerateConfig, Message


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch: ``config.n`` samples continuing ``messages``."""

    custom_id: str
    messages: Sequence[Message]
    config: GenerateConfig


@dataclass(frozen=True)
class BatchStatus:
    """A batch as the provider reports it: ``status`` in its own words, ``done``/``total``
    request counts, and whether it has ``ended`` (results can be collected)."""

    id: str
    status: str
    done: int | None = None
    total: int | None = None
    ended: bool = False
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def detail(self) -> str:
        return f"{self.done}/{self.total}" if self.done is not None and self.total is not None else ""


@dataclass
class BatchResults:
    """Per custom_id, a `Completion` or the `ProviderError` that request ended with; ``error``
    when the whole batch failed (expired, cancelled, refused) and no request has a result."""

    results: dict[str, Completion | ProviderError] = field(default_factory=dict)
    error: ProviderError | None = None


class BatchClient(ABC):
    """A provider's batch API, with the backend's error mapping and the model's retry policy
    on every call. Close it with ``aclose()``."""

    #: the provider's name for its API, recorded in a run's state ("openai", "anthropic")
    kind: str

    def __init__(self, backend, retry: RetryPolicy | None = None) -> None:
        self.backend = backend
        self.retry = retry or RetryPolicy()

    async def call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        async def attempt():
            with sdk_errors(self.backend.map_error):
                return await fn()

        return await with_retries(attempt, self.retry)

    @property
    def native_n(self) -> bool:
        """One request can carry n samples (else: one request per sample)."""
        return False

    @abstractmethod
    async def submit(self, requests: Sequence[BatchRequest], on_uploaded: Callable[[str], None] | None = None) -> str:
        """Submit ``requests``; return the batch id. ``on_uploaded(file_id)`` runs when the
        requests are stored with the provider but no batch exists yet (a caller saves it)."""

    @abstractmethod
    async def status(self, batch_id: str) -> BatchStatus:
        """The batch's current status."""

    @abstractmethod
    async def results(self, status: BatchStatus) -> BatchResults:
        """The results of an ended batch."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the client."""


__all__ = ["BatchClient", "BatchRequest", "BatchResults", "BatchStatus"]
