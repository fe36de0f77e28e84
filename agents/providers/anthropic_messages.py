"""``anthropic/<model>``: the Anthropic Messages API through the official SDK.

- Every system message (the persona's prompt, and a post-history instruction after the last
  user turn) is folded, in order, into the top-level ``system`` parameter: the Messages API
  has no system role inside ``messages``. Consecutive turns of one role are joined.
- ``max_tokens`` is required by the API: 1024 unless the config says otherwise.
- ``n`` samples are ``n`` concurrent requests (the API has no ``n``); `Model` fans them out
  under the endpoint's concurrency limit, and this backend does the same when called directly.
- No logprobs and no seed: declared in `capabilities`, so `Backend.check` refuses them.
- No sampling parameters: the API version the installed SDK (2.x) speaks has no
  ``temperature`` or ``top_p``. The API's fixed sampling is temperature 1, top_p 1, so those
  values are accepted (and not sent); any other value is refused, never silently dropped.
- ``ANTHROPIC_API_KEY`` (required), ``ANTHROPIC_BASE_URL`` (optional). SDK retries are off;
  `agents.retry` governs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ..backend import Backend
from ..endpoints import check_base_url, display_url
from ..errors import CapabilityError, ConfigError
from ..registry import capabilities_of
from ..sdk import LoopBoundClient, client_timeout, gather_samples, map_sdk_error, request_timeout, sdk_errors
from ..types import Choice, Completion, GenerateConfig, Message, StreamEnd, Usage

DEFAULT_MAX_TOKENS = 1024
DEFAULT_BASE_URL = "https://api.anthropic.com"

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def to_messages_api(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, str]]]:
    """``(system, messages)`` for the Messages API."""
    system = [m.content for m in messages if m.role == "system" and m.content]
    turns: list[dict[str, str]] = []
    for m in messages:
        if m.role == "system":
            continue
        if turns and turns[-1]["role"] == m.role:
            turns[-1] = {"role": m.role, "content": turns[-1]["content"] + "\n\n" + m.content}
        else:
            turns.append({"role": m.role, "content": m.content})
    if turns and turns[0]["role"] == "assistant":
        # The Messages API wants a user turn first; a persona greeting that opens the chat
        # goes into the system prompt instead of being dropped.
        system.append(f"You opened this conversation by saying:\n{turns.pop(0)['content']}")
    return ("\n\n".join(system) or None), turns


class AnthropicBackend(Backend):
    def __init__(self, model: str, *, api_key: str, base_url: str) -> None:
        self.name = f"anthropic/{model}"
        self.capabilities = capabilities_of("anthropic")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout = request_timeout()
        self._api_key = api_key
        self._client = LoopBoundClient(self._make_client)

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicBackend({self.name!r}, base_url={display_url(self.base_url)!r})"

    def connection_key(self) -> str:
        return self.base_url

    def check(self, config: GenerateConfig) -> None:
        super().check(config)
        for field in ("temperature", "top_p"):
            value = getattr(config, field)
            if value is not None and value != 1.0:
                raise CapabilityError(
                    f"{self.name}: the Messages API has no {field} parameter; it samples at 1.0,"
                    f" not {value:g} (setting: {field})")

    def _make_client(self):
        import anthropic

        return anthropic.AsyncAnthropic(api_key=self._api_key, base_url=self.base_url, max_retries=0,
                                        timeout=client_timeout(self.timeout, anthropic))

    def map_error(self, err: BaseException) -> BaseException:
        import anthropic

        return map_sdk_error(err, anthropic, name=self.name, base_url=self.base_url, key_var="ANTHROPIC_API_KEY",
                             base_url_var="ANTHROPIC_BASE_URL", secrets=[self._api_key])

    def liveness_url(self) -> str:
        return f"{self.base_url}/v1/models"

    def batches(self, retry=None):
        from .anthropic_batch import AnthropicBatches

        return AnthropicBatches(self, retry)

    def _params(self, messages: Sequence[Message], config: GenerateConfig) -> dict[str, Any]:
        system, turns = to_messages_api(messages)
        if not turns:
            raise ConfigError(f"{self.name}: the Messages API needs at least one user or assistant message")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": config.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": turns,
        }
        if system is not None:
            params["system"] = system
        if config.stop:
            params["stop_sequences"] = list(config.stop)
        return params

    async def _sample(self, params: dict[str, Any]) -> tuple[Choice, Usage]:
        with sdk_errors(self.map_error):
            resp = await self._client.get().messages.create(**params)
        text = "".join(getattr(block, "text", "") for block in resp.content if block.type == "text")
        usage = Usage(input_tokens=resp.usage.input_tokens or 0, output_tokens=resp.usage.output_tokens or 0)
        return Choice(text=text, finish_reason=FINISH.get(resp.stop_reason or "", resp.stop_reason)), usage

    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        params = self._params(messages, config)
        results = await gather_samples(lambda _seed: self._sample(params), config.n, None)
        usage = Usage()
        for _, u in results:
            usage = usage + u
        return Completion(model=self.name, choices=[c for c, _ in results], usage=usage)

    async def stream(self, messages: Sequence[Message], config: GenerateConfig) -> AsyncIterator[str]:
        params = self._params(messages, config)
        with sdk_errors(self.map_error):
            async with self._client.get().messages.stream(**params) as stream:
                async for text in stream.text_stream:
                    if text:
                        yield text
                final = await stream.get_final_message()
        reason = final.stop_reason or ""
        yield StreamEnd(finish_reason=FINISH.get(reason, reason or None))

    async def aclose(self) -> None:
        await self._client.aclose()


def create(rest: str) -> AnthropicBackend:
    key = (os.environ.get("ANTHROPIC_API_KEY") or "").strip()
    if not key:
        raise ConfigError(f"anthropic/{rest}: ANTHROPIC_API_KEY is not set")
    base_url = (os.environ.get("ANTHROPIC_BASE_URL") or "").strip() or DEFAULT_BASE_URL
    check_base_url(base_url, "ANTHROPIC_BASE_URL")
    return AnthropicBackend(rest, api_key=key, base_url=base_url)
