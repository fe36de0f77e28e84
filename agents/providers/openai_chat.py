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

import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..backend import Backend
from ..endpoints import check_base_url, display_url
from ..errors import ConfigError
from ..registry import capabilities_of
from ..sdk import LoopBoundClient, client_timeout, gather_samples, map_sdk_error, request_timeout, sdk_errors
from ..types import Capabilities, Choice, Completion, GenerateConfig, Message, StreamEnd, TokenLogprob, TopLogprob, Usage

NO_KEY = "no-key"  # sent to servers that need no key, so the SDK never reaches for OPENAI_API_KEY


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
        prompt_logprobs: bool = False,
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
        self._scorer = None
        if prompt_logprobs:  # vLLM: exact scores from the prompt's log-probabilities
            from .vllm_scoring import PromptLogprobScorer

            self._scorer = PromptLogprobScorer(self)

    def client(self):
        """The SDK client for the running event loop (one per loop)."""
        return self._client.get()

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChatBackend({self.name!r}, base_url={display_url(self.base_url)!r})"

    def connection_key(self) -> str:
        return self.base_url

    def _make_client(self):
        import openai

        if self._official:
            return openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0,
                                      timeout=client_timeout(self.timeout, openai))
        # A foreign server: explicit values so the SDK takes nothing from OPENAI_* variables
        # (key, organization, project, admin key) ...
        client = openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0,
                                    timeout=client_timeout(self.timeout, openai), organization="", project="", admin_api_key="",
                                    webhook_secret="")
        # ... and none of OpenAI's own headers: no empty OpenAI-Organization/-Project, and
        # nothing from OPENAI_CUSTOM_HEADERS, which the SDK reads unconditionally.
        client.organization = None
        client.project = None
        client.admin_api_key = None
        client._custom_headers = {}
        client._ambient_authorizations = frozenset()
        return client

    def map_error(self, err: BaseException) -> BaseException:
        import openai

        return map_sdk_error(err, openai, name=self.name, base_url=self.base_url, key_var=self.key_var,
                             base_url_var=self.base_url_var, secrets=[self._api_key])

    def liveness_url(self) -> str:
        return f"{self.base_url}/models"

    def batches(self, retry=None):
        if not self.capabilities.batch:
            return super().batches(retry)
        from .openai_batch import OpenAIBatches

        return OpenAIBatches(self, retry)

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
        with sdk_errors(self.map_error):
            return await self._client.get().chat.completions.create(**params)

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
            with sdk_errors(self.map_error):
                async for chunk in stream:
                    for choice in chunk.choices or []:
                        if choice.index == 0 and choice.delta is not None and choice.delta.content:
                            yield choice.delta.content
                        if choice.index == 0 and getattr(choice, "finish_reason", None):
                            finish = choice.finish_reason
            yield StreamEnd(finish_reason=finish, settings=self.settings(params))
        finally:
            await stream.close()

    async def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        if self._scorer is None:
            return await super().score(messages, continuations)
        return await self._scorer.score(messages, continuations)

    async def aclose(self) -> None:
        await self._client.aclose()


# -- factories (named in agents.registry.PROVIDERS) ------------------------------------------



def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def create_openai(rest: str) -> OpenAIChatBackend:
    key = _env("OPENAI_API_KEY")
    if key is None:
        raise ConfigError(f"openai/{rest}: OPENAI_API_KEY is not set")
    return OpenAIChatBackend(
        f"openai/{rest}", rest, base_url=_env("OPENAI_BASE_URL") or "https://api.openai.com/v1", api_key=key,
        key_var="OPENAI_API_KEY", base_url_var="OPENAI_BASE_URL", capabilities=capabilities_of("openai"),
        max_tokens_param="max_completion_tokens", official=True,
    )


#: the server-specific settings that switch off sampling a user did not ask for
PLAIN_SAMPLING: dict[str, dict[str, Any]] = {
    "llamacpp": {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0},
    "vllm": {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0},
}


def _local(provider: str, rest: str, default_url: str) -> OpenAIChatBackend:
    prefix = provider.upper()
    return OpenAIChatBackend(
        f"{provider}/{rest}", rest, base_url=_env(f"{prefix}_BASE_URL") or default_url,
        api_key=_env(f"{prefix}_API_KEY") or NO_KEY, key_var=f"{prefix}_API_KEY",
        base_url_var=f"{prefix}_BASE_URL", capabilities=capabilities_of(provider), plain_sampling=PLAIN_SAMPLING.get(provider),
        greedy_copies=provider == "vllm", prompt_logprobs=provider == "vllm",
    )


def create_ollama(rest: str) -> OpenAIChatBackend:
    # Ollama's OpenAI endpoint returns one choice whatever n says: n is done by concurrent calls.
    return _local("ollama", rest, "http://localhost:11434/v1")


def create_vllm(rest: str) -> OpenAIChatBackend:
    return _local("vllm", rest, "http://localhost:8000/v1")


def create_llamacpp(rest: str) -> OpenAIChatBackend:
    # llama-server samples one completion per request.
    return _local("llamacpp", rest, "http://localhost:8080/v1")


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
        base_url_var=url_var, capabilities=capabilities_of("openai-api"),
    )
