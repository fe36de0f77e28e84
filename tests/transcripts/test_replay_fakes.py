"""Replay through the real SDKs against the fake servers: failure injection on the live path,
and the provider batch APIs (OpenAI Files + Batches, Anthropic Message Batches)."""

import json

import pytest

from improv.agents.agent import Agent
from improv.agents.registry import get_model
from improv.agents.retry import RetryPolicy
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.base import Failure
from tests.fakes.batch_routes import install_anthropic_batches, install_openai_batches
from tests.fakes.openai_server import FakeOpenAI
from improv.transcripts.replay.modes import Regenerate
from improv.transcripts.replay.provider_batch import STATE, run_provider_batch
from improv.transcripts.replay.runner import read_results, run_replay

from .replay_helpers import chat_item


class RefusingOpenAI(FakeOpenAI):
    """Refuses any request whose last message says TOO LONG, as a context overflow."""

    def validate(self, body):
        if isinstance(body, dict) and "TOO LONG" in json.dumps(body.get("messages")):
            return 400, "This model's maximum context length is 8192 tokens"
        return super().validate(body)


class RefusingAnthropic(FakeAnthropic):
    def validate(self, body, headers=None):
        if isinstance(body, dict) and "TOO LONG" in json.dumps(body.get("messages")):
            return 400, "prompt is too long: 300000 tokens > 200000 maximum"
        return super().validate(body, headers)


def items_with_a_bad_one(n=6):
    items = [chat_item(i) for i in range(n)]
    bad = items[2].transcript
    bad.turns[0] = bad.turns[0].model_copy(update={"content": "TOO LONG " * 3})
    return items


def ids(out):
    return [r["id"] for r in read_results(out / "results.jsonl")]


async def test_live_replay_survives_20_percent_injected_failures(tmp_path, monkeypatch):
    with FakeOpenAI(failure_rate=0.2, seed=3, record=False) as srv:
        srv.random_failures = [Failure(429, retry_after=0.01), Failure(500), Failure(kind="drop"),
                               Failure(kind="slow", seconds=0.05)]
        monkeypatch.setenv("FAKE_BASE_URL", srv.base_url)
        model = get_model("openai-api/fake/gpt-fake", max_connections=16,
                          retry=RetryPolicy(max_attempts=12, initial=0.001, maximum=0.02))
        items = [chat_item(i) for i in range(200)]
        result = await run_replay(items, Regenerate(Agent(model)), tmp_path, concurrency=16, models=[model])
        await model.aclose()
        kinds = {(f.kind, f.status) for f in srv.injected}
        failed_requests = sum(f.kind != "slow" for f in srv.injected)
    assert kinds == {("status", 429), ("status", 500), ("drop", None), ("slow", None)}
    got = ids(tmp_path)
    assert sorted(got) == sorted(i.id for i in items)  # every conversation, exactly once
    assert result.exit_code == 0 and result.summary.overall.done == 200
    assert result.progress.retries == failed_requests  # every failed request was retried, once
    assert result.summary.overall.exact_match is not None


async def test_openai_batch_end_to_end_and_resume_by_batch_id(tmp_path, monkeypatch):
    with RefusingOpenAI() as srv:
        batches = install_openai_batches(srv, polls=2)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        model = get_model("openai/gpt-fake")
        items = items_with_a_bad_one()
        mode = Regenerate(Agent(model), k=2)

        class Stop(Exception):
            pass

        def stop_after_first_poll(status):
            raise Stop(status)

        with pytest.raises(Stop):  # "killed" while the batch is out
            await run_provider_batch(items, mode, tmp_path, poll_interval=0, on_status=stop_after_first_poll)
        state = json.loads((tmp_path / STATE).read_text())
        assert state["status"] == "submitted" and state["batch_id"] in batches.batches
        assert not (tmp_path / "results.jsonl").exists() or ids(tmp_path) == []

        statuses = []
        result = await run_provider_batch(items, mode, tmp_path, resume=True, poll_interval=0,
                                          on_status=statuses.append)
        assert batches.created == 1  # resumed by id, not resubmitted
        assert any("completed" in s for s in statuses)
        # one upload holding one request per conversation, with n=2 (OpenAI has native n)
        upload = srv.requests_to("/v1/files")[0]
        assert upload.body.count(b'"custom_id"') == 6 and b'"n": 2' in upload.body
        assert sorted(ids(tmp_path)) == sorted(i.id for i in items)
        recs = {r["id"]: r for r in read_results(tmp_path / "results.jsonl")}
        assert recs["c2"]["status"] == "failed" and "maximum context length" in recs["c2"]["error"]
        assert recs["c0"]["turns"][0]["replies"][0].startswith("Echo: u0.0")
        assert len(recs["c0"]["turns"][0]["replies"]) == 2
        assert result.exit_code == 1 and result.summary.overall.done == 5

        again = await run_provider_batch(items, mode, tmp_path, resume=True, poll_interval=0)
        assert batches.created == 1 and len(ids(tmp_path)) == 6  # nothing left to submit, nothing duplicated
        assert again.exit_code == 1
        await model.aclose()


async def test_anthropic_message_batches_end_to_end(tmp_path, monkeypatch):
    with RefusingAnthropic() as srv:
        batches = install_anthropic_batches(srv, polls=1)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.root_url)
        model = get_model("anthropic/claude-fake")
        items = items_with_a_bad_one(4)
        result = await run_provider_batch(items, Regenerate(Agent(model), k=2), tmp_path, poll_interval=0)
        assert batches.created == 1
        sent = srv.requests_to("/v1/messages/batches")[0].json["requests"]
        assert len(sent) == 8  # no native n: two requests per turn
        recs = {r["id"]: r for r in read_results(tmp_path / "results.jsonl")}
        assert set(recs) == {"c0", "c1", "c2", "c3"}
        assert recs["c2"]["status"] == "failed" and "prompt is too long" in recs["c2"]["error"]
        assert len(recs["c1"]["turns"][0]["replies"]) == 2
        assert result.summary.overall.usage["output_tokens"] > 0
        assert result.exit_code == 1
        await model.aclose()


def test_provider_batch_refuses_models_without_a_batch_api(tmp_path):
    from improv.agents.errors import ConfigError
    import asyncio

    mode = Regenerate(Agent(get_model("mock/echo")))
    with pytest.raises(ConfigError, match="no batch API"):
        asyncio.run(run_provider_batch([chat_item(0)], mode, tmp_path))
