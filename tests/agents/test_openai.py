"""``openai/<model>`` through the real ``openai`` SDK against the fake server."""

import asyncio

import pytest

from improv.agents import CapabilityError, ConfigError, GenerateConfig, Message, ProviderConfigError, ProviderError, RetryPolicy, get_model
from improv.agents.cache import ResponseCache
from tests.fakes.base import Failure, fake_logprob, tokenize

FAST = RetryPolicy(initial=0.01, maximum=0.05)
KEY = "sk-test-openai-SECRET-1234"
HI = [Message(role="user", content="hello there")]


@pytest.fixture
def openai_env(clean_env, fake_openai):
    clean_env.setenv("OPENAI_API_KEY", KEY)
    clean_env.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    return fake_openai


def model(**kw):
    kw.setdefault("retry", FAST)
    return get_model("openai/gpt-fake", **kw)


async def test_n5_is_one_request_with_five_choices(openai_env):
    m = model()
    out = await m.generate(HI, GenerateConfig(n=5))
    await m.aclose()
    assert len(out.choices) == 5
    assert len({c.text for c in out.choices}) == 5  # distinct samples, not one copied
    assert all(c.text.startswith("Echo: hello there") for c in out.choices)
    (req,) = openai_env.requests
    assert req.path == "/v1/chat/completions" and req.json["n"] == 5
    assert req.json["messages"] == [{"role": "user", "content": "hello there"}]
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert out.model == "openai/gpt-fake"
    assert out.usage.input_tokens == 2 and out.usage.output_tokens == sum(len(tokenize(c.text)) for c in out.choices)


async def test_generation_settings_are_sent_as_the_api_names_them(openai_env):
    openai_env.replies = "one two three four five STOP six"
    m = model()
    out = await m.generate(HI, GenerateConfig(temperature=0.3, top_p=0.9, seed=7, max_tokens=3))
    body = openai_env.requests[-1].json
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["seed"] == 7
    # OpenAI deprecated max_tokens for chat models; o-series models refuse it.
    assert body["max_completion_tokens"] == 3 and "max_tokens" not in body
    assert out.text == "one two three" and out.choices[0].finish_reason == "length"

    out = await m.generate(HI, GenerateConfig(stop=["STOP", "zzz"]))
    assert openai_env.requests[-1].json["stop"] == ["STOP", "zzz"]
    assert out.text == "one two three four five " and out.choices[0].finish_reason == "stop"
    await m.aclose()


async def test_logprobs_map_to_token_logprobs(openai_env):
    openai_env.replies = "the cat sat"
    m = model()
    out = await m.generate(HI, GenerateConfig(logprobs=True, top_logprobs=3))
    await m.aclose()
    body = openai_env.requests[-1].json
    assert body["logprobs"] is True and body["top_logprobs"] == 3
    lps = out.choices[0].logprobs
    assert [t.token for t in lps] == ["the", " cat", " sat"]
    assert [t.logprob for t in lps] == [fake_logprob(t) for t in ["the", " cat", " sat"]]
    assert [len(t.top_logprobs) for t in lps] == [3, 3, 3]
    assert lps[1].top_logprobs[0].token == " cat" and lps[1].top_logprobs[1].token == " alt1"
    assert lps[1].top_logprobs[1].logprob == fake_logprob(" cat", 1)


async def test_streaming_yields_deltas(openai_env):
    openai_env.replies = "a streamed reply in pieces"
    m = model()
    deltas = [d async for d in m.stream(HI, GenerateConfig(max_tokens=4))]
    await m.aclose()
    assert deltas == ["a", " streamed", " reply", " in"]
    body = openai_env.requests[-1].json
    assert body["stream"] is True and body["max_completion_tokens"] == 4


async def test_retries_ride_out_429_500_drop_and_malformed(openai_env):
    openai_env.fail_next([Failure(429, retry_after=0.03), 500, "drop", "malformed"])
    waits, statuses = [], []
    m = model(on_retry=lambda err, attempt, wait: (waits.append(wait), statuses.append(err.status)))
    out = await m.generate(HI)
    await m.aclose()
    assert out.text.startswith("Echo: hello there")
    assert len(openai_env.requests) == 5
    assert [f.kind if f.status is None else f.status for f in openai_env.injected] == [429, 500, "drop", "malformed"]
    assert waits[0] == pytest.approx(0.03)  # the server's Retry-After, not the backoff
    assert statuses == [429, 500, None, None]


async def test_stream_retries_before_the_first_delta(openai_env):
    openai_env.fail_next([503, "drop"])
    m = model()
    text = "".join([d async for d in m.stream(HI)])
    await m.aclose()
    assert text.startswith("Echo: hello there") and len(openai_env.requests) == 3


async def test_timeout_is_retried(openai_env, clean_env):
    clean_env.setenv("IMPROV_TIMEOUT", "0.2")
    openai_env.fail_next(["slow:0.6"])
    seen = []
    m = model(on_retry=lambda err, attempt, wait: seen.append(str(err)))
    out = await m.generate(HI)
    await m.aclose()
    assert out.text and "timed out" in seen[0]


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_permanent_errors_are_not_retried(openai_env, status):
    openai_env.fail_next([status])
    m = model()
    with pytest.raises(ProviderError) as info:
        await m.generate(HI)
    await m.aclose()
    err = info.value
    assert len(openai_env.requests) == 1 and not err.retryable and err.status == status
    assert isinstance(err, ProviderConfigError)  # all four: the user must change the request or a setting (exit 2)
    assert KEY not in str(err) and "\n" not in str(err)
    if status == 401:
        assert str(err) == "openai/gpt-fake: authentication failed (401): check OPENAI_API_KEY"


async def test_unknown_model_is_a_config_error_naming_the_model(openai_env):
    openai_env.models = ["gpt-real"]
    m = model()
    with pytest.raises(ProviderConfigError, match=r"openai/gpt-fake: not found \(404\).*gpt-fake"):
        await m.generate(HI)
    await m.aclose()


async def test_wrong_key_never_appears_in_the_error(openai_env):
    openai_env.api_key = "sk-the-right-one"
    m = model()
    with pytest.raises(ProviderConfigError) as info:
        await m.generate(HI)
    await m.aclose()
    assert KEY not in str(info.value) and "sk-the-right-one" not in str(info.value)
    assert KEY not in repr(m.backend)


async def test_concurrency_limit_per_endpoint(openai_env):
    openai_env.latency = 0.05
    m = model(max_connections=2)
    outs = await asyncio.gather(*(m.generate(HI) for _ in range(6)))
    await m.aclose()
    assert len(outs) == 6 and len(openai_env.requests) == 6
    assert openai_env.max_in_flight == 2


async def test_cache_makes_a_repeat_send_nothing(openai_env, tmp_path):
    m = model(cache=ResponseCache(tmp_path / "cache"))
    first = await m.generate(HI, GenerateConfig(n=3, temperature=1.0))
    again = await m.generate(HI, GenerateConfig(n=3, temperature=1.0))
    assert len(openai_env.requests) == 1 and again.cached
    assert [c.text for c in again.choices] == [c.text for c in first.choices]
    more = await m.generate(HI, GenerateConfig(n=5, temperature=1.0))  # reuses 3, draws 2
    await m.aclose()
    assert openai_env.requests[-1].json["n"] == 2
    assert [c.text for c in more.choices[:3]] == [c.text for c in first.choices]


def test_missing_key_names_the_variable(clean_env):
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        get_model("openai/gpt-fake")


def test_connection_key_is_the_base_url(openai_env):
    assert model().backend.connection_key() == openai_env.base_url


async def test_top_logprobs_without_logprobs_is_refused_before_any_request(openai_env):
    m = model()
    with pytest.raises(CapabilityError):
        await m.generate(HI, GenerateConfig(top_logprobs=2))
    assert openai_env.requests == []


async def test_a_stream_cut_after_the_first_delta_is_not_retried(openai_env):
    openai_env.replies = "one two three four five"
    openai_env.fail_next(["cut:3"])  # role chunk, "one", " two", then the connection closes
    m = model()
    got = []
    with pytest.raises(ProviderError) as info:
        async for d in m.stream(HI):
            got.append(d)
    await m.aclose()
    assert got == ["one", " two"] and len(openai_env.requests) == 1
    assert info.value.retryable and "closed the connection mid-request" in str(info.value)
