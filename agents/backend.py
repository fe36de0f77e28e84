"""The one seam every model sits behind.

A backend implements ``generate`` (and, if it can do better than one chunk, ``stream``).
Optional capabilities (``score``, ``hidden_states``) are declared in ``capabilities``; the
default methods refuse with a clear `CapabilityError`. Retries, concurrency limits and the
response cache live above this seam, in `agents.model.Model`, so a backend stays small.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence

from .errors import CapabilityError
from .types import Capabilities, Completion, GenerateConfig, Message, StreamEnd


class Backend(ABC):
    #: the full model string, e.g. ``openai/gpt-4o-mini``
    name: str
    capabilities: Capabilities = Capabilities()

    def connection_key(self) -> str:
        """Requests sharing this key share one concurrency limit (one endpoint)."""
        return self.name.split("/", 1)[0]

    def check(self, config: GenerateConfig) -> None:
        """Refuse config fields this backend cannot honour."""
        caps = self.capabilities
        if (config.logprobs or config.top_logprobs) and not caps.logprobs:
            raise CapabilityError(f"{self.name}: this backend does not return logprobs (setting: logprobs)")
        if config.top_logprobs and not config.logprobs:
            raise CapabilityError("top_logprobs needs logprobs=True (setting: top_logprobs)")
        if config.seed is not None and not caps.seed:
            raise CapabilityError(f"{self.name}: this backend does not accept a seed (setting: seed)")

    @abstractmethod
    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        """Return ``config.n`` samples continuing ``messages``."""

    async def stream(self, messages: Sequence[Message], config: GenerateConfig) -> AsyncIterator[str | StreamEnd]:
        """Yield text deltas of one sample, then optionally a `StreamEnd` with the finish
        reason. Default: the whole reply as one chunk."""
        completion = await self.generate(messages, config.model_copy(update={"n": 1}))
        yield completion.text
        if completion.choices:
            yield StreamEnd(finish_reason=completion.choices[0].finish_reason, settings=completion.settings)

    async def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        """Exact log-likelihood of each continuation as the assistant's reply to ``messages``."""
        raise CapabilityError(f"{self.name}: this backend cannot score continuations exactly")

    async def hidden_states(self, messages: Sequence[Message], reply: str | None = None, layers: Sequence[int] | None = None):
        """Hidden states per layer at the last token (a ``[layers, hidden]`` tensor)."""
        raise CapabilityError(f"{self.name}: this backend does not expose hidden states")

    def liveness_url(self) -> str | None:
        """A URL any live server answers at once (no key is sent), for `agents.liveness` to tell
        a silent endpoint from a slow reply; None for backends with no server."""
        return None

    def map_error(self, err: BaseException) -> BaseException:
        """This backend's `ProviderError` for an exception its SDK raised (``err`` itself when it
        is not the SDK's)."""
        return err

    def batches(self, retry=None):
        """A `agents.batch.BatchClient` for the provider's batch API (capability ``batch``)."""
        raise CapabilityError(f"{self.name}: this provider has no batch API (use an openai/... or anthropic/... model)")

    async def aclose(self) -> None:
        """Release clients and connections."""
