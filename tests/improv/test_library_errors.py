"""Library errors name settings, not CLI flags: the front ends word them (`improv.options.cli_error`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the library packages checked (games/, organism/ and evaluator/introspection/ have their own owners)
CHECKED = ["agents", "personas", "transcripts", "evaluator/falsehood", "evaluator/judge.py", "evaluator/stats.py"]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _raised_texts(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield sub.lineno, sub.value


def test_no_library_error_names_a_cli_flag():
    files = [p for c in CHECKED for p in ([ROOT / c] if c.endswith(".py") else sorted((ROOT / c).rglob("*.py")))]
    bad = [f"{p.relative_to(ROOT)}:{line}: {text}" for p in files for line, text in _raised_texts(p) if FLAG.search(text)]
    assert bad == []


def test_the_cli_words_a_missing_persona_variable_with_its_flag(capsys):
    from improv.cli import main

    assert main(["ask", "-m", "mock/echo", "-p", "twentyq-secret", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err
    assert "needs a value for {secret} (e.g. --var secret=...)" in err and err.count("\n") == 1
