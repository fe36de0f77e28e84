"""`Model`: a backend plus the policies around it (capability checks, retries, a
concurrency limit per endpoint, the opt-in response cache).

Everything above `agents` talks to a `Model`, never to a backend directly.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from .backend import Backend
from .cache import ResponseCache
from .errors import ProviderError
from .liveness import watched
from .retry import RetryPolicy, after_drop, with_retries
from .types import Capabilities, Completion, GenerateConfig, Message, StreamEnd, Usage

DEFAULT_MAX_CONNECTIONS = 16

# One semaphore per (event loop, endpoint): asyncio primitives bind to the loop that first
# uses them, and tests start many loops.
_limits: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]]" = (
    weakref.WeakKeyDictionary()
)


def endpoint_limit(key: str, size: int) -> asyncio.Semaphore:
    per_loop = _limits.setdefault(asyncio.get_running_loop(), {})
    sem = per_loop.get(key)
    if sem is None:
        sem = per_loop[key] = asyncio.Semaphore(size)
    return sem


@dataclass(frozen=True)
class RetryEvent:
    """A request failed and will be tried again after ``wait`` seconds (``attempt`` failed)."""

    model: str
    error: ProviderError
    attempt: int
    wait: float


@dataclass(frozen=True)
class UsageEvent:
    """A generation finished: the tokens it used (``cached``: served from the response cache)."""

    model: str
    usage: Usage
    cached: bool = False


ModelEvent = RetryEvent | UsageEvent


class Subscription:
    """A listener on a `Model`'s events until ``close()`` (or the end of a ``with`` block)."""

    def __init__(self, listeners: list, listener: Callable[[ModelEvent], None]) -> None:
        self._listeners = listeners
        self._listener = listener
        listeners.append(listener)

    def close(self) -> None:
        if self._listener in self._listeners:
            self._listeners.remove(self._listener)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TextStream:
    """The text deltas of one streamed reply; after the last one, ``finish_reason`` says why it
    ended ("stop", "length", ...), or is None when the backend did not say."""

    def __init__(self, source: AsyncIterator) -> None:
        self._source = source
        self.finish_reason: str | None = None
        self.settings: dict | None = None

    def __aiter__(self) -> "TextStream":
        return self

    async def __anext__(self) -> str:
        while True:
            item = await self._source.__anext__()
            if isinstance(item, StreamEnd):
                self.finish_reason = item.finish_reason
                self.settings = item.settings
                continue
            return item

    async def aclose(self) -> None:
        await self._source.aclose()


class Model:
    def __init__(
        self,
        backend: Backend,
        *,
        config: GenerateConfig | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        cache: ResponseCache | None = None,
        on_retry: Callable[[ProviderError, int, float], None] | None = None,
    ) -> None:
        self.backend = backend
        self.config = config or GenerateConfig()
        self.retry = retry or RetryPolicy()
        self.max_connections = max_connections
        self.cache = cache
        self._listeners: list[Callable[[ModelEvent], None]] = []
        if on_retry is not None:
            self.subscribe(lambda e: on_retry(e.error, e.attempt, e.wait) if isinstance(e, RetryEvent) else None)

    def subscribe(self, listener: Callable[[ModelEvent], None]) -> Subscription:
        """Call ``listener`` with every `RetryEvent` and `UsageEvent` of this model, until the
        returned `Subscription` is closed. Listeners run inline: keep them quick."""
        return Subscription(self._listeners, listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def _emit(self, event: ModelEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    def _retried(self, err: ProviderError, attempt: int, wait: float) -> None:
        self._emit(RetryEvent(self.name, err, attempt, wait))

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def capabilities(self) -> Capabilities:
        return self.backend.capabilities

    def _limit(self) -> asyncio.Semaphore:
        return endpoint_limit(self.backend.connection_key(), self.max_connections)

    def _breaker(self):
        from .breaker import breaker_for

        return breaker_for(self.backend.connection_key())

    async def _call(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        async def attempt(cfg: GenerateConfig) -> Completion:
            async with self._limit():
                return await watched(self.backend, lambda: self.backend.generate(messages, cfg))

        breaker = self._breaker()
        if config.n == 1 or self.capabilities.native_n:
            return await with_retries(lambda: attempt(config), self.retry, self._retried, breaker)
        # No native n: one request per sample, each under the endpoint's limit and retried on
        # its own (sample i gets seed + i, so seeded samples still differ).
        parts = await asyncio.gather(*(
            with_retries(
                lambda i=i: attempt(config.model_copy(update={
                    "n": 1, "seed": None if config.seed is None else config.seed + i})),
                self.retry, self._retried, breaker)
            for i in range(config.n)
        ))
        usage = Usage()
        for part in parts:
            usage = usage + part.usage
        settings = {**parts[0].settings, "n": config.n} if parts[0].settings else None
        return Completion(model=parts[0].model, choices=[c for p in parts for c in p.choices], usage=usage,
                          scripted=any(p.scripted for p in parts), settings=settings)

    async def generate(self, messages: Sequence[Message], config: GenerateConfig | None = None) -> Completion:
        completion = await self._generate(messages, config)
        if self._listeners:
            self._emit(UsageEvent(self.name, completion.usage, completion.cached))
        return completion

    async def _generate(self, messages: Sequence[Message], config: GenerateConfig | None) -> Completion:
        config = self.config.merged(config)
        self.backend.check(config)
        messages = list(messages)
        if self.cache is None:
            return await self._call(messages, config)

        keys = [self.cache.key(self.name, messages, config, i) for i in range(config.n)]
        choices = [self.cache.get(k) for k in keys]
        missing = [i for i, c in enumerate(choices) if c is None]
        if not missing:
            return Completion(model=self.name, choices=choices, cached=True)  # type: ignore[arg-type]
        fresh = await self._call(messages, config.model_copy(update={"n": len(missing)}))
        for i, choice in zip(missing, fresh.choices):
            choices[i] = choice
            self.cache.put(keys[i], choice)
        return Completion(
            model=fresh.model,
            choices=[c for c in choices if c is not None],
            usage=fresh.usage,
            scripted=fresh.scripted,
        )

    def stream(self, messages: Sequence[Message], config: GenerateConfig | None = None) -> TextStream:
        """The text deltas of one sample (a `TextStream`, which also reports the finish
        reason); retried only until the first delta arrives."""
        return TextStream(self._stream(messages, config))

    async def _stream(self, messages: Sequence[Message], config: GenerateConfig | None) -> AsyncIterator:
        config = self.config.merged(config).model_copy(update={"n": 1})
        self.backend.check(config)
        attempt = 1
        breaker = self._breaker()
        dropped: ProviderError | None = None
        while True:
            started = False
            if breaker is not None:
                breaker.check()
            try:
                async with self._limit():
                    source = self.backend.stream(list(messages), config)
                    try:
                        try:  # the first delta is watched: a silent server fails fast (agents.liveness)
                            first = await watched(self.backend, source.__anext__)
                        except StopAsyncIteration:
                            first = None
                        if first is not None:
                            started = True
                            yield first
                            async for delta in source:
                                yield delta
                    finally:
                        await source.aclose()
                if breaker is not None:
                    breaker.succeeded()
                return
            except ProviderError as err:
                if err.dropped and dropped is None:
                    dropped = err
                if breaker is not None and breaker.failed(err):
                    raise after_drop(dropped, breaker.error()) from None
                if started or not err.retryable or attempt >= self.retry.max_attempts:
                    if dropped is not None and not err.dropped:
                        raise after_drop(dropped, err) from None
                    raise
                wait = self.retry.delay(attempt, err.retry_after)
                self._retried(err, attempt, wait)
                await asyncio.sleep(wait)
                attempt += 1

    async def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        async with self._limit():
            return await self.backend.score(list(messages), list(continuations))

    async def hidden_states(self, messages: Sequence[Message], reply: str | None = None, layers: Sequence[int] | None = None):
        async with self._limit():
            return await self.backend.hidden_states(list(messages), reply, layers)

    def batches(self):
        """The provider's batch API (`agents.batch.BatchClient`) under this model's retry policy;
        a `CapabilityError` where the provider has none."""
        return self.backend.batches(self.retry)

    async def aclose(self) -> None:
        await self.backend.aclose()


async def aclose_all(*models: "Model | None") -> None:
    """Close every model given (None and repeats skipped): what a front end does when its run
    ends, however it ends."""
    for model in {id(m): m for m in models if m is not None}.values():
        await model.aclose()


def require_model(model, where: str) -> "Model":
    """``model`` if it is a `Model`; library calls take one, never a model string (a front end
    parses the string once, into a `RunSpec`, and builds the model from it)."""
    if not isinstance(model, Model):
        raise TypeError(f"{where} takes a Model (build it with improv.agents.spec.build_model), not {type(model).__name__}")
    return model


__all__ = ["DEFAULT_MAX_CONNECTIONS", "Model", "aclose_all", "ModelEvent", "RetryEvent", "Subscription", "Usage", "UsageEvent",
           "require_model"]
