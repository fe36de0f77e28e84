"""One writer per run folder, --resume that refuses other inputs, --retry-failed that leaves
one record per conversation, and hostile replay inputs ending in one line."""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from improv.agents.errors import ConfigError
from improv.cli import main
from improv.transcripts.errors import TranscriptError
from improv.transcripts.replay.inputs import load_inputs
from improv.transcripts.replay.modes import Regenerate
from improv.transcripts.replay.runner import RESULTS, run_replay

from .replay_helpers import SlowBackend, agent_for, chat_item

ROOT = Path(__file__).resolve().parents[2]


def records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / RESULTS).read_text().splitlines()]


def test_a_second_process_on_the_same_folder_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-m", "tests.transcripts.replay_helpers", str(out), "400"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not ((out / RESULTS).exists() and (out / RESULTS).stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None, "the first run should still be writing"
        agent = agent_for(SlowBackend())
        with pytest.raises(ConfigError, match=rf"another replay \(pid {first.pid}\) is writing to this folder"):
            asyncio.run(run_replay([chat_item(i) for i in range(400)], Regenerate(agent), out, resume=True))
        (tmp_path / "in.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
        code = main(["replay", str(tmp_path / "in.jsonl"), "-m", "mock/echo", "--out", str(out), "--resume"])
        err = capsys.readouterr().err
        assert code == 2 and "another replay" in err and len(err.strip().splitlines()) == 1
    finally:
        first.wait(timeout=120)
    done = records(out)
    assert first.returncode == 0 and len(done) == 400 == len({r["id"] for r in done})  # each once


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


def test_out_naming_a_file_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    target = tmp_path / "file.txt"
    target.write_text("mine")
    assert main(["replay", str(tmp_path / "in.jsonl"), "-m", "mock/echo", "--out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "mine"


@pytest.mark.parametrize("content, match", [
    (b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n', r"line 1, byte \d+: not UTF-8"),
    (b'{"messages": [{"role": "user", "content": "x"}]}\n' + b"[" * 50_000 + b"]" * 50_000 + b"\n", r"line 2: JSON nested"),
    (b'{"messages": [{"role": "user", "content": "x"}]}\n' + b'{"a": [1, 2,]}\n', r"line 2, column 13: not valid JSON"),
    (b'{"x": ' + b"[" * 200 + b"]" * 200 + b"}\n", r"line 1: JSON nested more than 100"),
])
def test_hostile_jsonl_is_one_line_naming_the_line(tmp_path, capsys, content, match):
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    with pytest.raises(TranscriptError, match=match):
        load_inputs([str(path)])
    assert main(["replay", str(path), "-m", "mock/echo", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
