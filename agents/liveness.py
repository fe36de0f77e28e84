"""A silent endpoint fails fast: a server that accepts connections and never answers.

The request timeout (``IMPROV_TIMEOUT``, 120 s) has to cover a whole generation, since a
non-streamed reply sends nothing until it is done; so against a hung server (the port open,
nothing answering) the first requests each waited 120 s before the circuit breaker could trip.

A slow reply and a hung server look alike from inside one request, so the first request to an
endpoint (in this event loop) is watched: if nothing has come back after half of
``IMPROV_FIRST_BYTE_TIMEOUT`` seconds (default 10), a cheap status request (``GET .../models``,
no key sent) asks the server whether it is there at all, and has the other half to answer. Any HTTP answer, even 401 or 404, shows
it is alive: the request goes on under the full timeout and the endpoint is not watched again.
No answer in the same time: the request is cancelled with `SilentServer`, one line naming the
endpoint, and every request to it fails the same way at once for the next 30 s. A refused
connection is left to the request itself (the usual "cannot connect" line).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .breaker import DEFAULT_COOLDOWN, ConnectionFailure
from .endpoints import display_url
from .env import env_number
from .errors import ConfigError

T = TypeVar("T")
DEFAULT_FIRST_BYTE = 10.0


class SilentServer(ConnectionFailure, ConfigError):
    """The server accepted the connection but answered neither the request nor a status request."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.retryable = False  # a hung server stays hung for a while: the same request would wait again


def first_byte_timeout() -> float:
    """Seconds a first request waits before asking whether the server is there at all."""
    return env_number("IMPROV_FIRST_BYTE_TIMEOUT", float, DEFAULT_FIRST_BYTE, minimum=1e-9,
                      expected="a positive number of seconds")


class _Endpoint:
    def __init__(self) -> None:
        self.alive = False
        self.silent: SilentServer | None = None
        self.silent_at = 0.0
        self.probe: asyncio.Task | None = None

    def check(self) -> None:
        if self.silent is not None and time.monotonic() - self.silent_at < DEFAULT_COOLDOWN:
            raise SilentServer(str(self.silent))
        self.silent = None


_endpoints: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Endpoint]]" = weakref.WeakKeyDictionary()


def _state(key: str) -> _Endpoint:
    per_loop = _endpoints.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(key, _Endpoint())


async def answers(url: str, timeout: float) -> bool | None:
    """True if ``url`` gives any HTTP answer within ``timeout``, False if the connection is
    accepted but nothing comes back, None if it cannot even connect (not this module's case)."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False) as client:
            await client.get(url)
        return True
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
        return False
    except httpx.HTTPError:
        return None


async def watched(backend, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` (one request to ``backend``), failing fast if its endpoint is silent."""
    url = backend.liveness_url()
    if url is None:
        return await call()
    state = _state(backend.connection_key())
    state.check()
    if state.alive:
        return await call()
    task = asyncio.ensure_future(call())
    wait = first_byte_timeout()
    try:
        # half the wait for the request alone, then the status request gets the other half:
        # a silent server is named after ``wait`` seconds in all
        done, _ = await asyncio.wait({task}, timeout=wait / 2)
        if not done:
            if state.probe is None or state.probe.done():  # one status request per endpoint at a time
                state.probe = asyncio.ensure_future(answers(url, wait / 2))
            verdict = await asyncio.shield(state.probe)
            if verdict is False:
                state.check()  # another request may have recorded it already
                where = display_url(getattr(backend, "base_url", url))
                var = getattr(backend, "base_url_var", None)
                state.silent = SilentServer(
                    f"{backend.name}: {where} accepted the connection but sent nothing for {wait:g} s and did not "
                    f"answer a status request either: the server is not responding"
                    + (f" (check it, and {var})" if var else "") + "; IMPROV_FIRST_BYTE_TIMEOUT sets the wait")
                state.silent_at = time.monotonic()
                raise SilentServer(str(state.silent))
            state.alive = state.alive or verdict is True
        result = await task
    except BaseException:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        raise
    state.alive = True
    return result


__all__ = ["SilentServer", "answers", "first_byte_timeout", "watched"]
