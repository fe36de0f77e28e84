"""What improv sends to local OpenAI-compatible servers (llama.cpp, vLLM, ...) and what it records:
explicit sampling settings so no server default applies silently, top_logprobs whenever logprobs
are wanted, greedy n as one request, finish reasons of streamed replies, refusals as exit 2."""

from __future__ import annotations

import pytest

from improv.agents import GenerateConfig, Message, RetryPolicy, get_model
from improv.agents.errors import ProviderConfigError
from improv.cli import main

FAST = RetryPolicy(initial=0.01, maximum=0.05)
HI = [Message(role="user", content="hello there, how are you today")]


@pytest.fixture
def llamacpp(clean_env, fake_openai):
    clean_env.setenv("LLAMACPP_BASE_URL", fake_openai.base_url)
    return get_model("llamacpp/smollm2", retry=FAST)


@pytest.fixture
def vllm(clean_env, fake_openai):
    clean_env.setenv("VLLM_BASE_URL", fake_openai.base_url)
    return get_model("vllm/smollm2", retry=FAST)


async def test_llamacpp_gets_plain_sampling_and_top_logprobs(llamacpp, fake_openai):
    out = await llamacpp.generate(HI, GenerateConfig(logprobs=True, max_tokens=5))
    body = fake_openai.requests[-1].json
    assert (body["temperature"], body["top_p"]) == (1.0, 1.0)
    assert (body["top_k"], body["min_p"], body["repeat_penalty"]) == (0, 0.0, 1.0)
    assert body["logprobs"] is True and body["top_logprobs"] == 1
    assert out.choices[0].logprobs  # the server returned them because top_logprobs was sent
    # the transcript-facing record of what was in force
    assert out.settings["top_k"] == 0 and out.settings["temperature"] == 1.0 and out.settings["max_tokens"] == 5


async def test_vllm_gets_its_own_knobs_and_explicit_settings_win(vllm, fake_openai):
    await vllm.generate(HI, GenerateConfig(temperature=0.7, top_p=0.9))
    body = fake_openai.requests[-1].json
    assert (body["temperature"], body["top_p"]) == (0.7, 0.9)
    assert (body["top_k"], body["repetition_penalty"]) == (-1, 1.0)
    assert "repeat_penalty" not in body


async def test_official_openai_gets_nothing_extra(clean_env, fake_openai):
    clean_env.setenv("OPENAI_API_KEY", "sk-test")
    clean_env.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    await get_model("openai/gpt-4o-mini", retry=FAST).generate(HI, GenerateConfig(logprobs=True))
    body = fake_openai.requests[-1].json
    assert not {"temperature", "top_p", "top_k", "min_p", "top_logprobs"} & set(body)


async def test_greedy_n_is_one_request_copied(vllm, fake_openai):
    out = await vllm.generate(HI, GenerateConfig(temperature=0, n=5))
    assert len(fake_openai.requests) == 1 and fake_openai.requests[0].json.get("n", 1) == 1
    assert len(out.choices) == 5 and len({c.text for c in out.choices}) == 1
    assert out.settings["n"] == 5 and out.settings["greedy_copies"] is True


async def test_streamed_reply_cut_at_max_tokens_reports_length(llamacpp):
    stream = llamacpp.stream(HI, GenerateConfig(max_tokens=2))
    text = "".join([d async for d in stream])
    assert text and stream.finish_reason == "length"
    assert stream.settings["max_tokens"] == 2
    whole = llamacpp.stream(HI, GenerateConfig(max_tokens=200))
    assert "".join([d async for d in whole]) and whole.finish_reason == "stop"


async def test_a_refused_request_is_a_config_error(vllm, fake_openai):
    fake_openai.fail_next([400])
    with pytest.raises(ProviderConfigError, match="request refused \\(400\\)"):
        await vllm.generate(HI)


def test_a_refused_request_exits_2(clean_env, fake_openai, capsys):
    clean_env.setenv("VLLM_BASE_URL", fake_openai.base_url)
    fake_openai.fail_next([400])
    assert main(["ask", "-m", "vllm/smollm2", "--no-save", "hi"]) == 2
    assert "400" in capsys.readouterr().err


async def test_settings_survive_n_by_separate_requests(llamacpp, fake_openai):
    out = await llamacpp.generate(HI, GenerateConfig(n=3, temperature=0.5, seed=4))
    assert len(fake_openai.requests) == 3 and len(out.choices) == 3
    assert out.settings["n"] == 3 and out.settings["temperature"] == 0.5 and out.settings["top_k"] == 0


async def test_a_dropped_request_is_reported_as_the_server_dying(clean_env, fake_openai):
    from improv.agents.errors import ProviderError

    clean_env.setenv("LLAMACPP_BASE_URL", fake_openai.base_url)
    model = get_model("llamacpp/smollm2", retry=RetryPolicy(max_attempts=2, initial=0.01, maximum=0.02))
    fake_openai.fail_next(["drop", "drop"])
    with pytest.raises(ProviderError, match="closed the connection mid-request") as info:
        await model.generate(HI)
    assert info.value.dropped


async def test_a_server_that_died_mid_request_says_so_before_cannot_connect():
    from improv.agents.errors import ProviderConfigError, ProviderError
    from improv.agents.retry import with_retries

    errors = [ProviderError("x: the server at http://h closed the connection mid-request; it may have died",
                            retryable=True, dropped=True),
              ProviderConfigError("x: cannot connect to http://h", retryable=True)]

    calls = []

    async def call():
        calls.append(1)
        raise errors[min(len(calls) - 1, 1)]

    with pytest.raises(ProviderError) as info:
        await with_retries(call, RetryPolicy(max_attempts=3, initial=0.0, maximum=0.0))
    message = str(info.value)
    assert message.index("mid-request") < message.index("cannot connect")
    assert info.value.exit_code == 1  # a dying server is not a setting to fix


async def test_other_services_get_the_greedy_n_they_ask_for(clean_env, fake_openai):
    clean_env.setenv("ACME_BASE_URL", fake_openai.base_url)
    out = await get_model("openai-api/acme/chat", retry=FAST).generate(HI, GenerateConfig(temperature=0, n=3))
    assert fake_openai.requests[-1].json["n"] == 3 and len(out.choices) == 3
