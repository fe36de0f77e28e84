"""One writer per run folder, --resume that refuses other inputs, --retry-failed that leaves
one record per conversation, and hostile replay inputs ending in one line."""

import asyncio
import json
from pathlib import Path

import pytest

from improv.agents.errors import ConfigError
from improv.transcripts.replay.modes import Regenerate
from improv.transcripts.replay.runner import RESULTS, run_replay

from .replay_helpers import SlowBackend, agent_for, chat_item

ROOT = Path(__file__).resolve().parents[2]


def records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / RESULTS).read_text().splitlines()]


async def test_two_runs_in_one_process_on_one_folder(tmp_path):
    items = [chat_item(i) for i in range(20)]
    runs = [run_replay(items, Regenerate(agent_for(SlowBackend(delay=0.01))), tmp_path, concurrency=2)
            for _ in range(2)]
    outcome = await asyncio.gather(*runs, return_exceptions=True)
    refused = [o for o in outcome if isinstance(o, ConfigError)]
    assert len(refused) == 1 and "another replay" in str(refused[0])
    assert len(records(tmp_path)) == 20


async def test_resume_with_other_inputs_is_refused(tmp_path):
    agent = agent_for(SlowBackend())
    await run_replay([chat_item(i) for i in range(5)], Regenerate(agent), tmp_path)
    with pytest.raises(ConfigError, match="other conversations; these inputs hold 6"):
        await run_replay([chat_item(i) for i in range(6)], Regenerate(agent), tmp_path, resume=True)
    again = await run_replay([chat_item(i) for i in reversed(range(5))], Regenerate(agent), tmp_path, resume=True)
    assert again.progress.skipped == 5  # same ids in another order: the same inputs


async def test_a_killed_retry_run_is_compacted_on_the_next_resume(tmp_path):
    agent = agent_for(SlowBackend())
    await run_replay([chat_item(i) for i in range(3)], Regenerate(agent), tmp_path)
    lines = (tmp_path / RESULTS).read_text().splitlines()
    failed = json.loads(lines[1]) | {"status": "failed", "error": "status 500: boom"}
    (tmp_path / RESULTS).write_text("\n".join([lines[0], json.dumps(failed), lines[2], lines[1]]) + "\n")
    result = await run_replay([chat_item(i) for i in range(3)], Regenerate(agent), tmp_path, resume=True)
    ids = [r["id"] for r in records(tmp_path)]
    assert sorted(ids) == ["c0", "c1", "c2"] and result.summary.overall.done == 3
