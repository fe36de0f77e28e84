"""The CLI on hostile files: control bytes never reach the terminal or an export raw, stray
files do not break listings, errors are one line with exit code 2."""

import json
import re

import pytest

from improv.cli import main
from improv.transcripts.schema import Transcript, Turn
from improv.transcripts.store import save

ESCAPES = ["\x1b[2J", "\x1b]0;pwned\x07", "\x1b[?1049h", "\x07", "\x08", "\r", "\x9b31m", "\u202e", "\x00"]
HOSTILE = "hello " + " ".join(ESCAPES) + " end"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "transcripts"


def hostile_transcript(content: str = HOSTILE) -> Transcript:
    t = Transcript(kind="chat", title="title " + HOSTILE)
    u = Turn(role="user", content="question\x1b]0;x\x07")
    a = Turn(parent=u.id, role="assistant", content=content, model="mock/\x1b[31mred", system_prompt="sys\x1b[2J")
    b = Turn(parent=u.id, role="assistant", content="other \x1b[2J branch", model="mock/echo")
    t.turns = [u, a, b]
    t.active = a.id
    return t


@pytest.mark.parametrize("fmt", ["md", "jsonl"])
def test_export_writes_no_control_byte_to_terminal_or_file(store, tmp_path, capsys, fmt):
    t = hostile_transcript()
    save(t, store)
    assert main(["transcripts", "export", t.id, "--format", fmt, "--all-branches"] if fmt == "jsonl"
                else ["transcripts", "export", t.id, "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert not RAW.search(out), repr(RAW.search(out))
    assert "\\x1b[2J" in out or "\\u001b[2J" in out  # shown, not dropped
    target = tmp_path / f"out.{fmt}"
    assert main(["transcripts", "export", t.id, "--format", fmt, "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert not RAW.search(text)
    if fmt == "jsonl":  # still the same JSON value
        assert json.loads(text.splitlines()[0])["messages"][-1]["content"] == HOSTILE


def test_show_and_list_escape_control_bytes(store, capsys):
    t = hostile_transcript()
    save(t, store)
    for argv in (["transcripts", "show", t.id], ["transcripts", "list"], ["transcripts", "show", t.id, "--json"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert not RAW.search(out), (argv, RAW.search(out))


def test_show_cuts_a_huge_message_says_so_and_export_gives_all_of_it(store, capsys):
    from improv.transcripts.display import SHOW_CHARS

    content = HOSTILE + "w" * SHOW_CHARS + "the end"  # a few MB: show prints the first SHOW_CHARS
    t = hostile_transcript(content)
    save(t, store)
    assert main(["transcripts", "show", t.id]) == 0
    out = capsys.readouterr().out
    assert not RAW.search(out)
    assert "\\x1b[2J" in out and "the end" not in out
    hidden = len(content) - SHOW_CHARS
    notice = re.search(r"\[… ([\d,]+) more characters? of this message not shown; `(.+?)` prints all of it\]", out)
    assert notice and int(notice.group(1).replace(",", "")) == hidden
    assert notice.group(2) == f"improv transcripts export {t.id}"
    assert main(notice.group(2).split()[1:]) == 0  # the command the notice names
    exported = capsys.readouterr().out
    assert "w" * SHOW_CHARS + "the end" in exported and not RAW.search(exported)
    assert main(["transcripts", "show", t.id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["turns"][1]["content"] == content


def test_show_names_the_folder_in_its_notice(tmp_path, capsys):
    from improv.transcripts.display import SHOW_CHARS

    t = hostile_transcript("x" * (SHOW_CHARS + 1))
    save(t, tmp_path / "my folder")
    assert main(["transcripts", "show", t.id, "--dir", str(tmp_path / "my folder")]) == 0
    out = capsys.readouterr().out
    assert "[… 1 more character of this message not shown; " in out
    assert f"`improv transcripts export {t.id} --dir '{tmp_path / 'my folder'}'` prints all of it]" in out


def test_a_message_within_the_view_is_shown_whole(store, capsys):
    from improv.transcripts.display import SHOW_CHARS

    t = hostile_transcript("a" * (SHOW_CHARS - 1) + "Z")
    save(t, store)
    assert main(["transcripts", "show", t.id]) == 0
    out = capsys.readouterr().out
    assert "a" * (SHOW_CHARS - 1) + "Z" in out and "not shown" not in out


def test_list_and_show_cut_a_huge_title_and_json_keeps_it(store, capsys):
    t = hostile_transcript()
    t.title = "T" * 3_000_000
    save(t, store)
    assert main(["transcripts", "show", t.id]) == 0
    out = capsys.readouterr().out
    assert "T" * 200 + "… (2,999,800 more characters)" in out.replace("\n", "") and "T" * 201 not in out
    assert main(["transcripts", "list"]) == 0  # a table cell: cut the same way, Rich wraps it
    out = capsys.readouterr().out
    assert "more" in out and len(out) < 20_000
    assert main(["transcripts", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["title"] == t.title


def test_list_tolerates_a_stray_file_and_names_it(store, capsys):
    t = hostile_transcript()
    save(t, store)
    (store / "introspection-20260101-000000.json").write_text('{"model": "x"}')
    (store / "broken.json").write_bytes(b"\xff\xfe not json")
    assert main(["transcripts", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [r["id"] for r in json.loads(out)] == [t.id]
    assert "skipped a file that is not a transcript" in err and "1 more" in err


def test_export_to_a_folder_or_missing_parent_is_one_line_exit_2(store, tmp_path, capsys):
    t = hostile_transcript()
    save(t, store)
    assert main(["transcripts", "export", t.id, "-o", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    missing = tmp_path / "no" / "such" / "out.md"
    assert main(["transcripts", "export", t.id, "-o", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


def write_persona(path, name: str, **fields) -> None:
    import yaml

    path.write_text(yaml.safe_dump({"name": name, "system_prompt": "hi", **fields}))


def test_personas_show_and_list_escape_a_hostile_name(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    card = tmp_path / "evil.yaml"
    write_persona(card, "evil\x1b[2J\x1b]0;title\x07", description="desc\x1b[?1049h", greeting="hi\x08\x08")
    assert main(["personas", "show", str(card)]) == 0
    assert not RAW.search(capsys.readouterr().out)
    assert main(["personas", "import", str(card)]) == 0
    assert main(["personas", "list"]) == 0
    out = capsys.readouterr().out
    assert not RAW.search(out) and "\\x1b" in out


def test_bad_generation_defaults_fail_at_show_import_and_ask(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "hot.yaml"
    write_persona(path, "hot", generation={"temperature": "hot", "bogus": 1})
    for argv in (["personas", "show", str(path)], ["personas", "import", str(path)],
                 ["ask", "-m", "mock/echo", "-p", str(path), "hi"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "generation.temperature" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "data" / "personas").exists()


def test_empty_model_string_is_refused(capsys):
    assert main(["ask", "-m", "", "hi"]) == 2
    assert "empty model string" in capsys.readouterr().err


def test_error_lines_escape_control_bytes(tmp_path, capsys):
    path = tmp_path / "bad\x1b[2J.yaml"
    path.write_text("name: [unclosed\n")
    assert main(["personas", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert not RAW.search(err) and "\\x1b[2J" in err
