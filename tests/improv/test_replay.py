"""`improv replay`: the command line (moved from the capability folders to mirror improv/commands)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from improv.agents.errors import ConfigError
from improv.cli import main
from improv.transcripts.errors import TranscriptError
from improv.transcripts.replay.inputs import load_inputs
from improv.transcripts.replay.modes import Regenerate
from improv.transcripts.replay.runner import RESULTS, run_replay

from tests.transcripts.replay_helpers import SlowBackend, agent_for, chat_item
from tests.transcripts.test_replay_hardening import ROOT, records


def test_cli_replay_json_and_errors(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                     {"role": "assistant", "content": f"q{i}"}]}) + "\n" for i in range(4)))
    out = tmp_path / "out"
    assert main(["replay", str(data), "-m", "mock/echo", "--out", str(out), "--json", "--export", str(tmp_path / "t")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["overall"]["exact_match"] == 1.0 and shown["overall"]["done"] == 4
    assert len(shown["exported"]) == 4
    assert main(["replay", str(data), "-m", "mock/echo", "--out", str(out)]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["replay", str(data), "--mode", "rescore", "--scorer", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "unknown scorer" in capsys.readouterr().err
    assert main(["replay", str(data), "--mode", "rescore", "--out", str(tmp_path / "r2"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["score"] == 1.0
    assert main(["replay", str(data), "-m", "mock/echo", "--mode", "rerun", "--provider-batch", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()  # nothing half-written


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


def test_replay_takes_a_transcript_id_like_every_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    assert main(["ask", "-m", "mock/echo", "hello"]) == 0
    capsys.readouterr()
    assert main(["transcripts", "list", "--json"]) == 0
    tid = json.loads(capsys.readouterr().out)[0]["id"]
    assert main(["replay", tid[:8], "-m", "mock/echo", "--out", str(tmp_path / "run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["done"] == 1
    assert main(["replay", "nosuchid", "-m", "mock/echo", "--out", str(tmp_path / "run2")]) == 2
    assert "no such file, folder, pattern or transcript id" in capsys.readouterr().err
