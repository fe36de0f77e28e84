"""`improv chat`: the plain line-by-line chat, driven through stdin on scripted models."""

from __future__ import annotations

import io
import json
import re

import pytest

from improv.cli import main
from improv.transcripts.store import load


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    return tmp_path


def chat(monkeypatch, capsys, stdin: str, *args: str):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["chat", *args])
    out, err = capsys.readouterr()
    return code, out, err


def saved_path(out: str):
    found = re.findall(r"transcript: (\S+)\n", out)
    assert len(found) == 1, out
    return found[0]


def test_turns_regen_and_transcript(monkeypatch, capsys, data_dir):
    code, out, err = chat(monkeypatch, capsys, "hello\n/regen\nand then?\n/quit\nnever read\n", "-m", "mock/cycle:one|two|three")
    assert code == 0, err
    assert out.startswith("you> one\nyou> two\nyou> three\nyou> transcript: ")
    path = saved_path(out)
    assert path.startswith(str(data_dir / "transcripts"))
    t = load(path)
    assert [(x.role, x.content) for x in t.path()] == [
        ("user", "hello"), ("assistant", "two"), ("user", "and then?"), ("assistant", "three")
    ]
    first_user = t.path()[0]
    assert [x.content for x in t.children(first_user.id)] == ["one", "two"]  # /regen made a sibling


def test_eof_quits_and_greeting_comes_first(monkeypatch, capsys, data_dir):
    code, out, err = chat(monkeypatch, capsys, "is water wet?", "-m", "mock/echo", "-p", "trickster", "--out", str(data_dir / "elsewhere"))
    assert code == 0, err
    assert out.splitlines()[0] == "Ask me anything, mortal. I know all."
    assert "you> is water wet?\n" in out  # echo of the line without a trailing newline
    t = load(saved_path(out))
    assert saved_path(out).startswith(str(data_dir / "elsewhere"))
    assert [x.role for x in t.path()] == ["assistant", "user", "assistant"]
    assert t.path()[0].meta == {"greeting": True} and t.path()[2].persona == "trickster"


def test_model_text_printed_literally(monkeypatch, capsys):
    code, out, err = chat(monkeypatch, capsys, "[bold]hi[/] \x1b[2J\x07\n", "-m", "mock/echo")
    assert code == 0, err
    assert "you> [bold]hi[/] \\x1b[2J\\x07\n" in out
    assert "\x1b" not in out and "\x07" not in out


def test_nothing_typed_saves_nothing(monkeypatch, capsys, data_dir):
    code, out, err = chat(monkeypatch, capsys, "/regen\n\n", "-m", "mock/echo")
    assert code == 0
    assert "nothing to regenerate" in err
    assert "transcript:" not in out
    assert not (data_dir / "transcripts").exists()


def test_bad_model_is_one_line_exit_2(monkeypatch, capsys):
    code, out, err = chat(monkeypatch, capsys, "hi\n", "-m", "nope/x")
    assert code == 2
    assert err.count("\n") == 1 and "unknown provider 'nope'" in err


def test_missing_persona_variable_is_one_line_exit_2(monkeypatch, capsys):
    code, out, err = chat(monkeypatch, capsys, "hi\n", "-m", "mock/echo", "-p", "twentyq-secret")
    assert code == 2 and "secret" in err and err.count("\n") == 1
    code, out, err = chat(monkeypatch, capsys, "is it alive?\n", "-m", "mock/echo", "-p", "twentyq-secret", "--var", "secret=cat")
    assert code == 0
    assert "cat" in load(saved_path(out)).path()[-1].system_prompt


def test_capability_error_mid_chat_exits_2_with_transcript(monkeypatch, capsys):
    # mock models do not return logprobs: refused with a clear line, the user turn is kept
    code, out, err = chat(monkeypatch, capsys, "hi\n", "-m", "mock/echo", "--logprobs")
    assert code == 2 and "logprobs" in err and err.count("\n") == 1
    t = load(saved_path(out))
    assert [x.role for x in t.turns] == ["user"]
    json.loads(open(saved_path(out)).read())  # a whole file, not half-written



def test_json_prints_the_transcript_and_no_save_writes_nothing(monkeypatch, capsys, data_dir):
    code, out, err = chat(monkeypatch, capsys, "hello\n", "-m", "mock/fixed:[b]hi[/b] \x1b[2J", "--json", "--no-save")
    assert code == 0, err
    t = json.loads(out)  # stdout is the JSON alone; the conversation went to stderr
    assert [(x["role"], x["content"]) for x in t["turns"]] == [("user", "hello"), ("assistant", "[b]hi[/b] \x1b[2J")]
    assert "\x1b" not in out and "you> [b]hi[/b] \\x1b[2J" in err
    assert "transcript:" not in err and not (data_dir / "transcripts").exists()
