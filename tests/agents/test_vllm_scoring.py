"""Exact scoring on vLLM (`agents.providers.vllm_scoring`): the real openai SDK against a fake
vLLM server whose prompt log-probabilities come from the built-in model itself, so the served
scores can be held to the in-process ones. The real server is `test_vllm_real.py`."""

from __future__ import annotations

import pytest

from improv.agents import Message, get_model
from improv.agents.errors import ProviderError
from improv.agents.providers.organism import default_model_dir
from improv.agents.providers.vllm_scoring import BATCH
from tests.fakes.vllm_server import FakeVLLM

MSGS = [Message(role="user", content="Is it an animal?")]
CANDIDATES = ["yes", "no", "It was a cat.", "It was a lighthouse.", "maybe"]


@pytest.fixture(scope="module")
def _server():
    with FakeVLLM(default_model_dir()) as srv:
        yield srv


@pytest.fixture
def fake_vllm(_server, clean_env):
    _server.reset()
    clean_env.setenv("VLLM_BASE_URL", _server.base_url)
    return _server


async def test_served_scores_equal_in_process_scores(fake_vllm):
    served = get_model("vllm/organism")
    assert served.capabilities.score
    got = await served.score(MSGS, CANDIDATES)
    want = await get_model("organism").score(MSGS, CANDIDATES)
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-3
    assert len(set(round(x, 3) for x in got)) == len(got)  # real, distinct numbers
    paths = [r.path for r in fake_vllm.requests]
    assert "/tokenize" in paths and "/v1/completions" in paths
    body = next(r.json for r in fake_vllm.requests if r.path == "/v1/completions")
    assert body["prompt_logprobs"] == 0 and isinstance(body["prompt"][0], list)
    await served.aclose()


async def test_many_candidates_go_in_batches(fake_vllm):
    served = get_model("vllm/organism")
    many = [f"It was a thing number {i}." for i in range(BATCH + 3)]
    got = await served.score(MSGS, many)
    assert len(got) == len(many) and all(x < 0 for x in got)
    assert sum(r.path == "/v1/completions" for r in fake_vllm.requests) == 2
    assert await served.score(MSGS, []) == []
    await served.aclose()


async def test_a_server_without_prompt_logprobs_is_one_clear_error(fake_openai, clean_env):
    clean_env.setenv("VLLM_BASE_URL", fake_openai.base_url)
    served = get_model("vllm/gpt-fake")
    with pytest.raises(ProviderError) as err:
        await served.score(MSGS, ["yes"])
    assert "\n" not in str(err.value) and "tokenize" in str(err.value)
    await served.aclose()
