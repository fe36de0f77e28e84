"""What the OpenAI and Anthropic backends share: the request timeout, SDK error mapping (one
`map_sdk_error` for both SDKs, and `sdk_errors` to apply a backend's mapping around a call),
Retry-After parsing, one SDK client per event loop, and n concurrent single-sample calls.

Both SDKs are built on httpx with the same exception tree (``APITimeoutError``,
``APIConnectionError``, ``APIStatusError``...), so one mapping serves both; nothing here
imports an SDK: the caller passes the SDK module in.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .endpoints import display_url
from .env import env_number
from .errors import ProviderConfigError, ProviderError, RequestRefused

DEFAULT_TIMEOUT = 120.0


def request_timeout() -> float:
    """Seconds before one HTTP request times out (``IMPROV_TIMEOUT``, default 120)."""
    return env_number("IMPROV_TIMEOUT", float, DEFAULT_TIMEOUT, minimum=1e-9,
                      expected="a positive number of seconds")


def client_timeout(total: float, sdk: Any):
    """An SDK client's timeout (``sdk.Timeout``: each SDK brings its own HTTP library):
    ``total`` for a request (a whole non-streamed generation), but a connection must be made
    within the first-byte wait (`agents.liveness`), so a host that drops packets fails in
    seconds, not minutes."""
    from .liveness import first_byte_timeout

    return sdk.Timeout(total, connect=min(total, first_byte_timeout()))


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _server_message(err: Any) -> str:
    body = getattr(err, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
        elif isinstance(inner, str):
            message = inner
    if not message:
        message = getattr(err, "message", "") or ""
    return " ".join(str(message).split())[:300]


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _causes(err: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cause = err.__cause__ or err.__context__
    while cause is not None and cause not in out and len(out) < 10:
        out.append(cause)
        cause = cause.__cause__ or cause.__context__
    return out


def _transport_errors() -> tuple[type[BaseException], ...]:
    """HTTP-library errors the SDKs may let escape while a stream is read."""
    errors: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        try:
            errors.append(__import__(module).HTTPError)
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


#: transport errors that mean an accepted request lost its connection before the answer
_DROPS = {"RemoteProtocolError", "ReadError", "IncompleteRead", "ServerDisconnectedError"}


def map_sdk_error(err: BaseException, sdk: Any, *, name: str, base_url: str, key_var: str | None,
                  base_url_var: str, secrets: Sequence[str] = ()) -> BaseException:
    """Turn an ``openai``/``anthropic`` SDK exception into a `ProviderError` (or return it)."""
    where = display_url(base_url)
    if isinstance(err, sdk.APITimeoutError):
        return ProviderError(f"{name}: request to {where} timed out", retryable=True)
    if isinstance(err, sdk.APIConnectionError):
        causes = _causes(err)
        if any(type(c).__name__ == "ConnectError" for c in causes):
            # Nothing listening (or no such host): most often a wrong URL or a server not yet
            # started. Retried like any connection error; if it persists, the user must fix a
            # setting, so it ends as a configuration error (exit 2).
            return ProviderConfigError(f"{name}: cannot connect to {where}: check {base_url_var} and that the server is running",
                                       retryable=True)
        detail = f" ({type(causes[0]).__name__})" if causes else ""
        if any(type(c).__name__ in _DROPS for c in causes):
            return ProviderError(f"{name}: the server at {where} closed the connection mid-request{detail}; it may have died",
                                 retryable=True, dropped=True)
        return ProviderError(f"{name}: connection to {where} failed{detail}", retryable=True)
    if isinstance(err, sdk.APIStatusError):
        status = err.status_code
        detail = _scrub(_server_message(err), secrets)
        retry_after = parse_retry_after(getattr(err.response, "headers", None))
        if status == 401:
            hint = f"check {key_var}" if key_var else "this server wants a key"
            return ProviderConfigError(f"{name}: authentication failed (401): {hint}", status=status)
        if status == 403:
            hint = f"check {key_var} and its access to this model" if key_var else "check access to this model"
            return ProviderConfigError(f"{name}: permission denied (403): {hint}", status=status)
        if status == 404:
            return ProviderConfigError(
                f"{name}: not found (404): check the model name and {base_url_var} ({where}): {detail}", status=status)
        if status in (400, 413, 422):
            # the request as sent cannot be served (a prompt over the context, max_tokens too
            # large, a setting the server refuses): the user must change it
            return RequestRefused(f"{name}: request refused ({status}): {detail}", status=status)
        if status in (408, 409, 429) or status >= 500:
            label = {429: "rate limited", 408: "request timeout", 409: "conflict, try again"}.get(status, "server error")
            return ProviderError(f"{name}: {label} ({status}): {detail}", status=status, retryable=True,
                                 retry_after=retry_after)
        return ProviderError(f"{name}: request refused ({status}): {detail}", status=status)
    if isinstance(err, sdk.APIResponseValidationError):
        return ProviderError(f"{name}: malformed response from {where}", retryable=True)
    if isinstance(err, json.JSONDecodeError):
        # The SDKs let a truncated or non-JSON body escape as a JSONDecodeError.
        return ProviderError(f"{name}: malformed response from {where} (invalid JSON)", retryable=True)
    if isinstance(err, _transport_errors()):
        return ProviderError(f"{name}: connection to {where} failed ({type(err).__name__})", retryable=True)
    return err


class LoopBoundClient:
    """One SDK client per event loop: an httpx pool cannot outlive the loop it was made in."""

    def __init__(self, make) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = self._make(), loop
        return self._client

    async def aclose(self) -> None:
        client, loop = self._client, self._loop
        self._client = self._loop = None
        # A client made in another (finished) loop cannot be closed from this one; its
        # connections went with that loop.
        if client is not None and loop is asyncio.get_running_loop():
            await client.close()

async def gather_samples(one, n: int, seed: int | None) -> list[Any]:
    """``n`` concurrent single-sample calls; sample ``i`` gets ``seed + i`` when seeded."""
    return list(await asyncio.gather(*(one(None if seed is None else seed + i) for i in range(n))))


@contextmanager


def sdk_errors(mapper: Callable[[BaseException], BaseException]) -> Iterator[None]:
    """Raise ``mapper(err)`` (a `ProviderError`) in place of an SDK exception from the block; an
    exception the mapper does not know goes on unchanged."""
    try:
        yield
    except Exception as err:
        mapped = mapper(err)
        if mapped is err:
            raise
        raise mapped from None
