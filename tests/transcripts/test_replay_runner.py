import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from improv.agents.errors import SettingError
from improv.options import cli_error

from improv.agents.errors import ConfigError, ProviderError
from improv.transcripts.replay.modes import Regenerate, Rescore
from improv.transcripts.replay.runner import (
    export_transcripts,
    read_results,
    replayed_transcripts,
    run_replay,
)
from improv.transcripts.store import load

from .replay_helpers import SlowBackend, agent_for, chat_item

ROOT = Path(__file__).resolve().parents[2]


def lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]


async def test_every_item_once_with_retries_and_permanent_failures(tmp_path):
    failures = {
        "u1.0": [ProviderError("rate limited", status=429, retryable=True, retry_after=0.0), None],
        "u2.0": [ProviderError("server error", status=500, retryable=True)] * 2 + [None],
        "u3.0": [ProviderError("maximum context length exceeded", status=400)],
        "u4.0": [ProviderError("bad key", status=401)],
    }
    backend = SlowBackend(delay=0.001, failures=failures)
    agent = agent_for(backend)
    items = [chat_item(i) for i in range(30)]
    seen = []
    result = await run_replay(items, Regenerate(agent), tmp_path, concurrency=8, models=[agent.model],
                              on_progress=lambda p: seen.append((p.retries, p.retrying)))
    recs = lines(tmp_path)
    assert sorted(r["id"] for r in recs) == sorted(i.id for i in items)  # each once
    failed = {r["id"]: r["error"] for r in recs if r["status"] == "failed"}
    assert set(failed) == {"c3", "c4"}
    assert failed["c3"].startswith("status 400: maximum context length")
    assert failed["c4"].startswith("status 401")
    assert result.progress.retries == 3
    assert max(r for _, r in seen) >= 1  # the "retrying" counter moved
    assert result.progress.retrying == 0  # and came back down
    assert result.exit_code == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["overall"]["done"] == 28 and summary["overall"]["failed"] == 2
    assert summary["overall"]["failures"] == {"status 400": 1, "status 401": 1}
    assert summary["overall"]["exact_match"] == 1.0
    # the retry hook is put back
    assert agent.model.listeners == 0


async def test_resume_skips_done_and_retry_failed(tmp_path):
    backend = SlowBackend(failures={"u2.0": [ProviderError("bad", status=400)]})
    agent = agent_for(backend)
    items = [chat_item(i) for i in range(5)]
    first = await run_replay(items, Regenerate(agent), tmp_path, models=[agent.model])
    assert first.exit_code == 1
    calls = len(backend.calls)
    again = await run_replay(items, Regenerate(agent), tmp_path, resume=True, models=[agent.model])
    assert len(backend.calls) == calls and again.progress.skipped == 5
    assert again.exit_code == 1  # the failure is still the latest word on c2
    fixed = await run_replay(items, Regenerate(agent), tmp_path, resume=True, retry_failed=True, models=[agent.model])
    assert len(backend.calls) == calls + 1
    assert fixed.exit_code == 0 and fixed.summary.overall.done == 5
    assert [r["id"] for r in lines(tmp_path)].count("c2") == 1  # the retried record replaced the failed one


async def test_refuses_to_mix_runs(tmp_path):
    agent = agent_for(SlowBackend())
    items = [chat_item(0)]
    await run_replay(items, Regenerate(agent), tmp_path, run_info={"model": "a"})
    with pytest.raises(SettingError, match="pass resume") as err:  # the library names settings, not flags
        await run_replay(items, Regenerate(agent), tmp_path, run_info={"model": "a"})
    assert err.value.setting == "out" and "pass --resume" in cli_error(err.value)
    with pytest.raises(SettingError, match="model='a'") as err:
        await run_replay(items, Regenerate(agent), tmp_path, resume=True, run_info={"model": "b"})
    assert err.value.setting == "resume"


def test_torn_tail_is_cut_and_bad_middle_line_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"id":"a","status":"ok"}\n{"id":"b","sta')
    assert [r["id"] for r in read_results(path, repair=True)] == ["a"]
    assert path.read_text() == '{"id":"a","status":"ok"}\n'
    path.write_text('{"id":"a","status":"ok"}\nnot json\n{"id":"b","status":"ok"}\n')
    with pytest.raises(ConfigError, match="line 2"):
        read_results(path)


async def test_new_transcripts_link_to_source_and_export(tmp_path):
    agent = agent_for(SlowBackend())
    items = [chat_item(i, turns=2, recorded="old") for i in range(3)]
    await run_replay(items, Regenerate(agent, k=2), tmp_path / "out")
    pairs = replayed_transcripts(tmp_path / "out")
    assert len(pairs) == 3
    rec, t = pairs[0]
    assert t.kind == "replay" and t.source == "test:0" and t.meta["source_id"] == "c0"
    replies = [x for x in t.turns if x.role == "assistant"]
    assert len(replies) == 4  # two turns, two samples each
    assert {x.meta["recorded"] for x in replies} == {"old"}
    assert [m.content for m in t.messages()] == ["u0.0", "re: u0.0", "u0.1", "re: u0.1"]
    assert rec["exact_match"] == 0.0 and rec["compared"] == 4
    paths = export_transcripts(tmp_path / "out", tmp_path / "store")
    assert load(paths[0]) == t


async def test_rescore_runs_a_handed_in_scorer(tmp_path):
    async def length_score(transcript):
        return {"score": len(transcript.turns), "note": "ok"}

    items = [chat_item(i, turns=i + 1) for i in range(3)]
    result = await run_replay(items, Rescore(length_score), tmp_path)
    assert result.summary.overall.score == pytest.approx((2 + 4 + 6) / 3)
    assert all("transcript" not in r for r in lines(tmp_path))


def test_sigkill_halfway_then_resume_matches_uninterrupted(tmp_path):
    n = 120
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tests.transcripts.replay_helpers"]
    clean = tmp_path / "clean"
    assert subprocess.run([*cmd, str(clean), str(n)], cwd=ROOT, env=env, timeout=120).returncode == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, str(killed), str(n)], cwd=ROOT, env=env)
    results = killed / "results.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if results.exists() and results.read_bytes().count(b"\n") >= n // 2:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    halfway = results.read_bytes().count(b"\n")
    assert 0 < halfway < n, "the kill should land mid-run"
    assert subprocess.run([*cmd, str(killed), str(n), "--resume"], cwd=ROOT, env=env, timeout=120).returncode == 0

    def key(r):
        return (r["id"], r["status"], json.dumps(r["turns"]))

    a, b = lines(clean), lines(killed)
    assert len(b) == n and len({r["id"] for r in b}) == n  # none lost, none twice
    assert sorted(map(key, a)) == sorted(map(key, b))


async def test_cache_makes_a_repeated_replay_free(tmp_path):
    from improv.agents.agent import Agent
    from improv.agents.cache import ResponseCache
    from improv.agents.model import Model

    backend = SlowBackend()
    model = Model(backend, cache=ResponseCache(tmp_path / "cache"))
    items = [chat_item(i) for i in range(5)]
    first = await run_replay(items, Regenerate(Agent(model), k=2), tmp_path / "one")
    calls = len(backend.calls)
    assert calls > 0
    second = await run_replay(items, Regenerate(Agent(model), k=2), tmp_path / "two")
    assert len(backend.calls) == calls  # nothing sent
    assert all(t["cached"] for r in lines(tmp_path / "two") for t in r["turns"])
    assert [r["turns"][0]["replies"] for r in lines(tmp_path / "one")] == [r["turns"][0]["replies"] for r in lines(tmp_path / "two")]
    assert first.summary.overall.exact_match == second.summary.overall.exact_match


async def test_duplicate_ids_are_refused_before_anything_is_written(tmp_path):
    items = [chat_item(0), chat_item(0)]
    with pytest.raises(ConfigError, match="'c0' appears twice"):
        await run_replay(items, Regenerate(agent_for(SlowBackend())), tmp_path / "out")
    assert not (tmp_path / "out").exists()
