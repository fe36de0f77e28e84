"""OpenAI Chat Completions, and every server that speaks it.

- ``openai/<model>``: api.openai.com (or ``OPENAI_BASE_URL``) with ``OPENAI_API_KEY``;
- ``ollama/<model>``: ``OLLAMA_BASE_URL`` (default http://localhost:11434/v1), no key needed;
- ``vllm/<model>``: ``VLLM_BASE_URL`` (default http://localhost:8000/v1), ``VLLM_API_KEY`` optional;
- ``llamacpp/<model>``: ``LLAMACPP_BASE_URL`` (default http://localhost:8080/v1), ``LLAMACPP_API_KEY`` optional;
- ``openai-api/<service>/<model>``: ``<SERVICE>_BASE_URL`` (required) and ``<SERVICE>_API_KEY``.

Local servers (every provider but ``openai/``) are sent explicit sampling settings: temperature
and top_p (1.0 when unset, the API's own default) and, for llama.cpp and vLLM, the extra knobs
that would otherwise apply silently (llama.cpp samples with top_k 40, min_p 0.05 and a repeat
penalty; vLLM takes the model's ``generation_config.json``). Logprobs are asked for with
``top_logprobs`` (llama.cpp returns none without it). Each `Completion` records the settings
sent. On vLLM, greedy ``n > 1`` is one request copied ``n`` times (it refuses n > 1 at temperature
0); elsewhere the n greedy samples are asked for, since a remote service may not be deterministic.

The OpenAI key is never sent anywhere but OpenAI: every client is built with an explicit key
(a placeholder when a server needs none) and explicit organization/project/admin values, so the
SDK does not fall back to ``OPENAI_*`` environment variables. The SDK's own retries are off
(``max_retries=0``); `agents.retry` governs, fed by the `ProviderError`s this module raises.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..backend import Backend
from ..env import env_number
from ..errors import ConfigError, ProviderConfigError, ProviderError, RequestRefused
from ..types import Capabilities, Choice, Completion, GenerateConfig, Message, StreamEnd, TokenLogprob, TopLogprob, Usage

DEFAULT_TIMEOUT = 120.0
NO_KEY = "no-key"  # sent to servers that need no key, so the SDK never reaches for OPENAI_API_KEY


# -- shared with the Anthropic backend ------------------------------------------------------


def request_timeout() -> float:
    """Seconds before one HTTP request times out (``IMPROV_TIMEOUT``, default 120)."""
    return env_number("IMPROV_TIMEOUT", float, DEFAULT_TIMEOUT, minimum=1e-9,
                      expected="a positive number of seconds")


from ..endpoints import check_base_url, display_url  # noqa: E402  (URL checks and redaction live in agents/endpoints.py)


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


# -- the backend ----------------------------------------------------------------------------


class OpenAIChatBackend(Backend):
    def __init__(
        self,
        name: str,
        model: str,
        *,
        base_url: str,
        api_key: str,
        key_var: str | None,
        base_url_var: str,
        capabilities: Capabilities,
        max_tokens_param: str = "max_tokens",
        official: bool = False,
        plain_sampling: dict[str, Any] | None = None,
        greedy_copies: bool = False,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = check_base_url(base_url, base_url_var).rstrip("/")
        self.capabilities = capabilities
        self.key_var = key_var
        self.base_url_var = base_url_var
        self.max_tokens_param = max_tokens_param
        self.timeout = request_timeout()
        self._api_key = api_key
        self._official = official
        self._plain_sampling = dict(plain_sampling or {})
        self._greedy_copies = greedy_copies
        self._client = LoopBoundClient(self._make_client)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChatBackend({self.name!r}, base_url={display_url(self.base_url)!r})"

    def connection_key(self) -> str:
        return self.base_url

    def _make_client(self):
        import openai

        if self._official:
            return openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0,
                                      timeout=self.timeout)
        # A foreign server: explicit values so the SDK takes nothing from OPENAI_* variables
        # (key, organization, project, admin key) ...
        client = openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0,
                                    timeout=self.timeout, organization="", project="", admin_api_key="",
                                    webhook_secret="")
        # ... and none of OpenAI's own headers: no empty OpenAI-Organization/-Project, and
        # nothing from OPENAI_CUSTOM_HEADERS, which the SDK reads unconditionally.
        client.organization = None
        client.project = None
        client.admin_api_key = None
        client._custom_headers = {}
        client._ambient_authorizations = frozenset()
        return client

    def _error(self, err: BaseException) -> BaseException:
        import openai

        return map_sdk_error(err, openai, name=self.name, base_url=self.base_url, key_var=self.key_var,
                             base_url_var=self.base_url_var, secrets=[self._api_key])

    def _params(self, messages: Sequence[Message], config: GenerateConfig) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        if config.temperature is not None:
            params["temperature"] = config.temperature
        if config.top_p is not None:
            params["top_p"] = config.top_p
        if not self._official:  # no server default applies silently
            params.setdefault("temperature", 1.0)
            params.setdefault("top_p", 1.0)
            if self._plain_sampling:
                params["extra_body"] = dict(self._plain_sampling)
        if config.max_tokens is not None:
            params[self.max_tokens_param] = config.max_tokens
        if config.seed is not None:
            params["seed"] = config.seed
        if config.stop:
            params["stop"] = list(config.stop)
        if config.logprobs:
            params["logprobs"] = True
            if config.top_logprobs:
                params["top_logprobs"] = config.top_logprobs
            elif not self._official:
                params["top_logprobs"] = 1  # llama.cpp returns no logprobs without it
        return params

    @staticmethod
    def settings(params: dict[str, Any]) -> dict[str, Any]:
        """The generation settings a request carried (what a transcript records)."""
        out = {k: v for k, v in params.items() if k not in ("model", "messages", "stream", "extra_body")}
        out.update(params.get("extra_body") or {})
        return out

    async def _create(self, params: dict[str, Any]):
        try:
            return await self._client.get().chat.completions.create(**params)
        except Exception as err:
            mapped = self._error(err)
            if mapped is err:
                raise
            raise mapped from None

    @staticmethod
    def _choice(raw: Any) -> Choice:
        logprobs = None
        content = getattr(getattr(raw, "logprobs", None), "content", None)
        if content is not None:
            logprobs = [
                TokenLogprob(
                    token=item.token,
                    logprob=item.logprob,
                    top_logprobs=[TopLogprob(token=t.token, logprob=t.logprob) for t in (item.top_logprobs or [])],
                )
                for item in content
            ]
        return Choice(text=raw.message.content or "", finish_reason=raw.finish_reason, logprobs=logprobs)

    @staticmethod
    def _usage(resp: Any) -> Usage:
        usage = getattr(resp, "usage", None)
        if usage is None:
            return Usage()
        return Usage(input_tokens=usage.prompt_tokens or 0, output_tokens=usage.completion_tokens or 0)

    async def _one(self, params: dict[str, Any], seed: int | None) -> tuple[list[Choice], Usage]:
        p = dict(params)
        if seed is not None:
            p["seed"] = seed
        resp = await self._create(p)
        return [self._choice(c) for c in sorted(resp.choices, key=lambda c: c.index)], self._usage(resp)

    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        if self._greedy_copies and config.n > 1 and config.temperature == 0:
            one = await self.generate(messages, config.model_copy(update={"n": 1}))
            return one.model_copy(update={"choices": [one.choices[0].model_copy(deep=True) for _ in range(config.n)],
                                          "settings": {**(one.settings or {}), "n": config.n, "greedy_copies": True}})
        params = self._params(messages, config)
        choices: list[Choice] = []
        usage = Usage()
        if self.capabilities.native_n or config.n == 1:
            if config.n > 1:
                params["n"] = config.n
            got, usage = await self._one(params, config.seed)
            choices.extend(got)
        missing = config.n - len(choices)
        if missing > 0:
            # No native n (or the server ignored it): one concurrent request per missing sample.
            params.pop("n", None)
            start = None if config.seed is None else config.seed + len(choices)
            for got, u in await gather_samples(lambda s: self._one(params, s), missing, start):
                choices.extend(got[:1])
                usage = usage + u
        settings = self.settings(params)
        settings["n"] = config.n
        return Completion(model=self.name, choices=choices[: config.n], usage=usage, settings=settings)

    async def stream(self, messages: Sequence[Message], config: GenerateConfig) -> AsyncIterator[str]:
        params = self._params(messages, config)
        params["stream"] = True
        stream = await self._create(params)
        finish: str | None = None
        try:
            async for chunk in stream:
                for choice in chunk.choices or []:
                    if choice.index == 0 and choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
                    if choice.index == 0 and getattr(choice, "finish_reason", None):
                        finish = choice.finish_reason
            yield StreamEnd(finish_reason=finish, settings=self.settings(params))
        except Exception as err:
            mapped = self._error(err)
            if mapped is err:
                raise
            raise mapped from None
        finally:
            await stream.close()

    async def aclose(self) -> None:
        await self._client.aclose()


# -- factories (named in agents.registry.PROVIDERS) ------------------------------------------

_OPENAI_CAPS = Capabilities(logprobs=True, native_n=True, seed=True)
_SERIAL_N_CAPS = Capabilities(logprobs=True, native_n=False, seed=True)


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def create_openai(rest: str) -> OpenAIChatBackend:
    key = _env("OPENAI_API_KEY")
    if key is None:
        raise ConfigError(f"openai/{rest}: OPENAI_API_KEY is not set")
    return OpenAIChatBackend(
        f"openai/{rest}", rest, base_url=_env("OPENAI_BASE_URL") or "https://api.openai.com/v1", api_key=key,
        key_var="OPENAI_API_KEY", base_url_var="OPENAI_BASE_URL", capabilities=_OPENAI_CAPS,
        max_tokens_param="max_completion_tokens", official=True,
    )


#: the server-specific settings that switch off sampling a user did not ask for
PLAIN_SAMPLING: dict[str, dict[str, Any]] = {
    "llamacpp": {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0},
    "vllm": {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0},
}


def _local(provider: str, rest: str, default_url: str, caps: Capabilities) -> OpenAIChatBackend:
    prefix = provider.upper()
    return OpenAIChatBackend(
        f"{provider}/{rest}", rest, base_url=_env(f"{prefix}_BASE_URL") or default_url,
        api_key=_env(f"{prefix}_API_KEY") or NO_KEY, key_var=f"{prefix}_API_KEY",
        base_url_var=f"{prefix}_BASE_URL", capabilities=caps, plain_sampling=PLAIN_SAMPLING.get(provider),
        greedy_copies=provider == "vllm",
    )


def create_ollama(rest: str) -> OpenAIChatBackend:
    # Ollama's OpenAI endpoint returns one choice whatever n says: n is done by concurrent calls.
    return _local("ollama", rest, "http://localhost:11434/v1", _SERIAL_N_CAPS)


def create_vllm(rest: str) -> OpenAIChatBackend:
    return _local("vllm", rest, "http://localhost:8000/v1", _OPENAI_CAPS)


def create_llamacpp(rest: str) -> OpenAIChatBackend:
    # llama-server samples one completion per request.
    return _local("llamacpp", rest, "http://localhost:8080/v1", _SERIAL_N_CAPS)


def create_compatible(rest: str) -> OpenAIChatBackend:
    service, _, model = rest.partition("/")
    if not service or not model:
        raise ConfigError(f"openai-api/{rest}: expected openai-api/<service>/<model>, e.g. openai-api/together/meta-llama/Llama-3-8b")
    prefix = service.upper().replace("-", "_").replace(".", "_")
    url_var, key_var = f"{prefix}_BASE_URL", f"{prefix}_API_KEY"
    base_url = _env(url_var)
    if base_url is None:
        raise ConfigError(f"openai-api/{rest}: {url_var} is not set (the service's OpenAI-compatible base URL)")
    # Declared native n; if the server ignores n, generate() tops up with concurrent calls.
    return OpenAIChatBackend(
        f"openai-api/{rest}", model, base_url=base_url, api_key=_env(key_var) or NO_KEY, key_var=key_var,
        base_url_var=url_var, capabilities=_OPENAI_CAPS,
    )
