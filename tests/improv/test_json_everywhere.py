"""`--json` on every command the README promises it for, and counts printed as words."""

from __future__ import annotations

import argparse
import json

from improv.cli import COMMANDS, build_parser, main


def _leaf_parsers():
    for name in COMMANDS:
        parser, _ = build_parser(name)
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            for sub, sp in subs[0].choices.items():
                yield f"{name} {sub}", sp
        else:
            yield name, parser


def test_every_command_but_the_terminal_app_takes_json():
    missing = [label for label, p in _leaf_parsers() if not any("--json" in a.option_strings for a in p._actions)]
    assert missing == ["tui"]  # the README names it


def test_transcripts_export_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    assert main(["ask", "-m", "mock/echo", "hello"]) == 0
    capsys.readouterr()
    assert main(["transcripts", "list", "--json"]) == 0
    tid = json.loads(capsys.readouterr().out)[0]["id"]
    assert main(["transcripts", "export", tid, "--format", "jsonl", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["transcripts"] == [tid] and shown["output"] is None
    assert json.loads(shown["text"].splitlines()[0])["messages"][0] == {"role": "user", "content": "hello"}
    out = tmp_path / "x.md"
    assert main(["transcripts", "export", tid, "-o", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["output"] == str(out) and shown["text"] is None and out.read_text().startswith("# ")


def test_counts_are_words_not_python_values():
    from improv.agents.text import counts, plural
    from improv.evaluator.falsehood.benchmark import BenchmarkReport, SplitReport, format_report
    from improv.evaluator.falsehood.classify import BatchResult

    assert (plural(1, "reply"), plural(3, "reply"), counts({"no": 6, "yes": 2})) == ("1 reply", "3 replies", "no 6, yes 2")
    split = SplitReport(split="held_out", cases=1, scored=0, confusion={}, labels=[], per_class=[], macro_f1=None,
                        macro_f1_ci=None, accuracy=None, deception_precision=None, no_claim={"confabulation": 1})
    batch = BatchResult(results=[], labels=[], confusion={}, per_class=[], macro_f1=None, accuracy=None)
    text = format_report(BenchmarkReport(model="m", settings={"k": 4, "samples": 10}, splits=[split], batch=batch))
    assert "settings: k 4, samples 10" in text and "1 case," in text and "1 no-claim reply excluded" in text
    assert "(verdicts: confabulation 1)" in text and "{" not in text
