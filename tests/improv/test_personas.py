"""`improv personas`: the command line (moved from the capability folders to mirror improv/commands)."""

from __future__ import annotations

import json

from improv.cli import main
from improv.personas import get_persona


def test_cli_broken_persona_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("name: [\n")
    assert main(["personas", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


def test_cli_show_and_list_json(capsys):
    assert main(["personas", "show", "twentyq-secret", "--var", "secret=cat", "--json"]) == 0
    assert "secret object is cat" in capsys.readouterr().out
    assert main(["personas", "list", "--json"]) == 0
    assert '"trickster"' in capsys.readouterr().out


def test_a_broken_import_is_skipped_and_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    folder = tmp_path / "personas"
    folder.mkdir()
    (folder / "good.yaml").write_text("name: good\nsystem_prompt: You are good.\n")
    (folder / "broken.yaml").write_text("name: [unclosed\n")
    assert main(["personas", "list", "--json"]) == 0
    captured = capsys.readouterr()
    names = [p["name"] for p in json.loads(captured.out)]
    assert "good" in names and "assistant" in names
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "skipped" in err[0] and "broken.yaml" in err[0]
    assert get_persona("good").system_prompt == "You are good."


def test_show_words_generation_defaults(capsys):
    assert main(["personas", "show", "honest"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("generation defaults:"))
    assert "{" not in line and "temperature" in line
