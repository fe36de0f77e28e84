"""The policies around every backend: capability checks, retries, limits, cache, mock."""

import asyncio

import pytest

from improv.agents import Agent, CapabilityError, ConfigError, GenerateConfig, Message, ProviderError, RetryPolicy, get_model
from improv.agents.backend import Backend
from improv.agents.cache import ResponseCache
from improv.agents.model import Model
from improv.agents.types import Capabilities, Choice, Completion
from improv.personas import get_persona

FAST = RetryPolicy(initial=0.001, maximum=0.01)


class Flaky(Backend):
    """Fails with the given errors first, then answers; counts calls and concurrency."""

    capabilities = Capabilities(native_n=True)

    def __init__(self, errors=(), delay=0.0):
        self.name = "flaky/x"
        self.errors = list(errors)
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = delay

    async def generate(self, messages, config):
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if self.errors:
                raise self.errors.pop(0)
            return Completion(model=self.name, choices=[Choice(text=f"r{self.calls}.{i}") for i in range(config.n)])
        finally:
            self.in_flight -= 1


async def test_retries_transient_errors_and_honours_retry_after():
    waits = []
    backend = Flaky([ProviderError("429", status=429, retryable=True, retry_after=0.002),
                     ProviderError("500", status=500, retryable=True)])
    model = Model(backend, retry=FAST, on_retry=lambda err, attempt, wait: waits.append(wait))
    out = await model.generate([Message(role="user", content="hi")])
    assert out.text == "r3.0" and backend.calls == 3
    assert waits[0] == 0.002 and 0 < waits[1] <= 0.01


async def test_permanent_errors_are_not_retried():
    backend = Flaky([ProviderError("401", status=401, retryable=False)])
    with pytest.raises(ProviderError):
        await Model(backend, retry=FAST).generate([Message(role="user", content="hi")])
    assert backend.calls == 1


async def test_retries_give_up_after_max_attempts():
    backend = Flaky([ProviderError("500", status=500, retryable=True)] * 10)
    with pytest.raises(ProviderError):
        await Model(backend, retry=RetryPolicy(max_attempts=3, initial=0.001)).generate([Message(role="user", content="x")])
    assert backend.calls == 3


async def test_concurrency_limit_per_endpoint():
    backend = Flaky(delay=0.01)
    model = Model(backend, max_connections=3)
    await asyncio.gather(*(model.generate([Message(role="user", content=str(i))]) for i in range(12)))
    assert backend.max_in_flight == 3


async def test_cache_reuses_samples_by_index(tmp_path):
    backend = Flaky()
    model = Model(backend, cache=ResponseCache(tmp_path))
    msgs = [Message(role="user", content="hi")]
    first = await model.generate(msgs, GenerateConfig(n=3))
    again = await model.generate(msgs, GenerateConfig(n=3))
    assert again.cached and [c.text for c in again.choices] == [c.text for c in first.choices]
    more = await model.generate(msgs, GenerateConfig(n=5))
    assert [c.text for c in more.choices[:3]] == [c.text for c in first.choices]
    assert backend.calls == 2  # the two extra samples came from one call with n=2
    other = await model.generate(msgs, GenerateConfig(n=1, temperature=0.3))
    assert not other.cached and backend.calls == 3


async def test_capabilities_are_refused_not_dropped():
    model = Model(Flaky())
    with pytest.raises(CapabilityError, match="logprobs"):
        await model.generate([Message(role="user", content="x")], GenerateConfig(logprobs=True))
    with pytest.raises(CapabilityError, match="seed"):
        await model.generate([Message(role="user", content="x")], GenerateConfig(seed=1))


def test_model_strings():
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        get_model("nope/x")
    with pytest.raises(ConfigError, match="names no model"):
        get_model("openai/")
    with pytest.raises(ConfigError, match="unknown mock model"):
        get_model("mock/what")


def test_config_rejects_unknown_fields():
    with pytest.raises(ValueError):
        GenerateConfig(temprature=1)  # type: ignore[call-arg]


async def test_mock_is_declared_scripted_and_agent_builds_messages():
    persona = get_persona("twentyq-secret")
    agent = Agent(get_model("mock/cycle:Yes.|No."), persona, GenerateConfig(n=3), {"secret": "cat"})
    msgs = agent.messages([Message(role="user", content="Is it alive?")])
    assert msgs[0].role == "system" and "cat" in msgs[0].content
    out = await agent.respond([Message(role="user", content="Is it alive?")])
    assert out.scripted and [c.text for c in out.choices] == ["Yes.", "No.", "Yes."]
    assert agent.config.max_tokens == 12  # the persona's generation defaults apply


async def test_stream_retries_only_before_first_delta():
    class FlakyStream(Flaky):
        async def stream(self, messages, config):
            self.calls += 1
            if self.errors:
                raise self.errors.pop(0)
            yield "a"
            yield "b"

    backend = FlakyStream([ProviderError("503", status=503, retryable=True)])
    chunks = [c async for c in Model(backend, retry=FAST).stream([Message(role="user", content="x")])]
    assert chunks == ["a", "b"] and backend.calls == 2
