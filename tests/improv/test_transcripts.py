"""`improv transcripts`: the command line (moved from the capability folders to mirror improv/commands)."""

from __future__ import annotations

import json

from improv.cli import main
from improv.transcripts import save

from tests.transcripts.test_store import tree


def test_cli_malformed_transcript_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text("[1, 2]")
    assert main(["transcripts", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json" in err


def test_cli_export_writes_file(tmp_path, capsys):
    path = save(tree(), tmp_path)
    out = tmp_path / "out.jsonl"
    assert main(["transcripts", "export", str(path), "--format", "jsonl", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["messages"][-1]["content"] == "```\ncode\n```"


def test_no_api_key_in_transcript(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-should-not-appear")
    assert main(["ask", "-m", "mock/echo", "hello", "--json"]) == 0
    out = capsys.readouterr().out
    assert "sk-secret" not in out
    for f in (tmp_path / "transcripts").glob("*.json"):
        assert "sk-secret" not in f.read_text()
