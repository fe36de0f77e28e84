"""``anthropic/<model>`` through the real ``anthropic`` SDK against the fake server."""

import asyncio

import pytest

from improv.agents import CapabilityError, ConfigError, GenerateConfig, Message, ProviderConfigError, ProviderError, RetryPolicy, get_model
from improv.agents.providers.anthropic_messages import to_messages_api
from tests.fakes.base import Failure

FAST = RetryPolicy(initial=0.01, maximum=0.05)
KEY = "sk-ant-test-SECRET-5678"
HI = [Message(role="user", content="hello there")]


@pytest.fixture
def anthropic_env(clean_env, fake_anthropic):
    clean_env.setenv("ANTHROPIC_API_KEY", KEY)
    clean_env.setenv("ANTHROPIC_BASE_URL", fake_anthropic.root_url)
    return fake_anthropic


def model(**kw):
    kw.setdefault("retry", FAST)
    return get_model("anthropic/claude-fake", **kw)


async def test_n5_is_five_concurrent_requests(anthropic_env):
    anthropic_env.latency = 0.05
    m = model()
    out = await m.generate(HI, GenerateConfig(n=5))
    await m.aclose()
    assert len(out.choices) == 5 and len({c.text for c in out.choices}) == 5
    reqs = anthropic_env.requests
    assert len(reqs) == 5 and all("n" not in r.json for r in reqs)
    assert anthropic_env.max_in_flight == 5  # concurrent, not one after another
    assert all(r.json["max_tokens"] == 1024 for r in reqs)
    assert reqs[0].headers["authorization"] == f"Bearer {KEY}" and "anthropic-version" in reqs[0].headers
    assert out.usage.output_tokens == sum(len(c.text.split()) for c in out.choices)


async def test_system_messages_fold_into_the_system_parameter(anthropic_env):
    seen = []
    anthropic_env.replies = lambda messages, body: seen.append(messages) or "ok"
    history = [
        Message(role="system", content="You are a pirate."),
        Message(role="user", content="hi"),
        Message(role="assistant", content="Arr."),
        Message(role="user", content="and?"),
        Message(role="system", content="Stay in character."),  # post-history instruction
    ]
    m = model()
    out = await m.generate(history)
    await m.aclose()
    body = anthropic_env.requests[-1].json
    assert body["system"] == "You are a pirate.\n\nStay in character."
    assert body["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Arr."},
        {"role": "user", "content": "and?"},
    ]
    assert out.text == "ok" and seen[0][0]["content"] == body["system"]


def test_consecutive_turns_of_one_role_are_joined():
    system, turns = to_messages_api([Message(role="user", content="a"), Message(role="user", content="b")])
    assert system is None and turns == [{"role": "user", "content": "a\n\nb"}]


async def test_settings_stop_sequences_and_finish_reasons(anthropic_env):
    anthropic_env.replies = "one two three END four"
    m = model()
    # temperature/top_p 1.0 is the API's own (only) sampling: accepted, not sent
    out = await m.generate(HI, GenerateConfig(temperature=1.0, top_p=1.0, max_tokens=2))
    body = anthropic_env.requests[-1].json
    assert "temperature" not in body and "top_p" not in body and body["max_tokens"] == 2
    assert out.text == "one two" and out.choices[0].finish_reason == "length"
    out = await m.generate(HI, GenerateConfig(stop=["END"]))
    await m.aclose()
    assert anthropic_env.requests[-1].json["stop_sequences"] == ["END"]
    assert out.text == "one two three " and out.choices[0].finish_reason == "stop"


async def test_streaming_yields_text_deltas(anthropic_env):
    anthropic_env.replies = "streamed from claude"
    m = model()
    deltas = [d async for d in m.stream([Message(role="system", content="S"), *HI])]
    await m.aclose()
    assert deltas == ["streamed", " from", " claude"]
    body = anthropic_env.requests[-1].json
    assert body["stream"] is True and body["system"] == "S"


@pytest.mark.parametrize("config, setting", [
    (GenerateConfig(logprobs=True), "logprobs"),
    (GenerateConfig(seed=3), "seed"),
    (GenerateConfig(temperature=0.7), "temperature"),
    (GenerateConfig(top_p=0.9), "top_p"),
])
async def test_unsupported_settings_are_refused_before_any_request(anthropic_env, config, setting):
    m = model()
    with pytest.raises(CapabilityError, match=f"setting: {setting}"):
        await m.generate(HI, config)
    assert anthropic_env.requests == []


async def test_retries_ride_out_429_overloaded_and_drop(anthropic_env):
    anthropic_env.fail_next([Failure(429, retry_after=0.02), 529, "drop", "malformed"])
    waits = []
    m = model(on_retry=lambda err, attempt, wait: waits.append(wait))
    out = await m.generate(HI)
    await m.aclose()
    assert out.text.startswith("Echo: hello there") and len(anthropic_env.requests) == 5
    assert waits[0] == pytest.approx(0.02)


async def test_stream_retries_before_the_first_delta(anthropic_env):
    anthropic_env.fail_next([500, "drop"])
    m = model()
    text = "".join([d async for d in m.stream(HI)])
    await m.aclose()
    assert text.startswith("Echo:") and len(anthropic_env.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_permanent_errors_are_not_retried(anthropic_env, status):
    anthropic_env.fail_next([status])
    m = model()
    with pytest.raises(ProviderError) as info:
        await m.generate(HI)
    await m.aclose()
    err = info.value
    assert len(anthropic_env.requests) == 1 and not err.retryable and err.status == status
    assert isinstance(err, ProviderConfigError)  # all four: the user must change the request or a setting (exit 2)
    assert KEY not in str(err) and "\n" not in str(err)
    if status == 401:
        assert str(err) == "anthropic/claude-fake: authentication failed (401): check ANTHROPIC_API_KEY"


async def test_stream_401_is_a_config_error(anthropic_env):
    anthropic_env.api_key = "another-key"
    m = model()
    with pytest.raises(ProviderConfigError, match="check ANTHROPIC_API_KEY"):
        async for _ in m.stream(HI):
            pass
    await m.aclose()


async def test_concurrency_limit_holds_across_samples(anthropic_env):
    """n samples are separate requests: they must share the endpoint's limit."""
    anthropic_env.latency = 0.05
    m = model(max_connections=2)
    outs = await asyncio.gather(m.generate(HI, GenerateConfig(n=4)), m.generate(HI, GenerateConfig(n=2)))
    await m.aclose()
    assert [len(o.choices) for o in outs] == [4, 2] and len(anthropic_env.requests) == 6
    assert anthropic_env.max_in_flight == 2


async def test_cache_makes_a_repeat_send_nothing(anthropic_env, tmp_path):
    m = model(cache=True)
    first = await m.generate(HI, GenerateConfig(n=2))
    again = await m.generate(HI, GenerateConfig(n=2))
    await m.aclose()
    assert len(anthropic_env.requests) == 2 and again.cached
    assert [c.text for c in again.choices] == [c.text for c in first.choices]


def test_missing_key_names_the_variable(clean_env):
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        get_model("anthropic/claude-fake")


def test_connection_key_is_the_base_url(anthropic_env):
    assert model().backend.connection_key() == anthropic_env.root_url


async def test_a_stream_cut_after_the_first_delta_is_not_retried(anthropic_env):
    anthropic_env.replies = "one two three four five"
    anthropic_env.fail_next(["cut:5"])  # message_start, block start, ping, "one", " two"
    m = model()
    got = []
    with pytest.raises(ProviderError) as info:
        async for d in m.stream(HI):
            got.append(d)
    await m.aclose()
    assert got == ["one", " two"] and len(anthropic_env.requests) == 1
    assert info.value.retryable


def test_opening_assistant_greeting_moves_into_the_system_prompt():
    from improv.agents.providers.anthropic_messages import to_messages_api
    from improv.agents.types import Message

    system, turns = to_messages_api([
        Message(role="system", content="Be Loki."),
        Message(role="assistant", content="Ask me anything, mortal."),
        Message(role="user", content="Capital of Peru?"),
    ])
    assert turns == [{"role": "user", "content": "Capital of Peru?"}]
    assert system.startswith("Be Loki.") and "Ask me anything, mortal." in system
