"""The one judge (agents.judge): one prompt syntax, used by the evaluators, 20 Questions and replay."""

from __future__ import annotations

import ast
from pathlib import Path

from improv.agents.judge import Judge, render
from improv.agents.registry import get_model

ROOT = Path(__file__).resolve().parents[2]


async def test_dollar_placeholders_leave_model_text_with_braces_alone():
    assert render("Q: $question / $missing", question="{x} costs $5") == "Q: {x} costs $5 / $missing"
    judge = Judge(get_model("mock/echo"))
    reply = await judge.ask_template("ANSWER: $a", a="{yes}")
    assert reply.raw == "ANSWER: {yes}" and reply.fields == {"ANSWER": "{yes}"} and judge.calls == 1


async def test_fit_and_agreement_judges_go_through_the_one_judge():
    from improv.games.fit import FitChecker
    from improv.transcripts.replay.compare import judge_agreement

    fit = FitChecker(None, get_model("mock/echo"))
    # the echo shows the rendered fit prompt came through: object and question filled, no braces left
    assert await fit.judge_truth("cat", "Is it alive?") is None
    assert fit.judge_calls == 1
    assert await judge_agreement(get_model("mock/fixed:Yes, they agree"), [], "a", "b") == 1.0


def test_no_judge_prompt_uses_str_format_placeholders():
    folders = [ROOT / "evaluator" / "prompts", ROOT / "games" / "prompts", ROOT / "evaluator" / "data" / "introspection"]
    judged = [p for f in folders for p in f.glob("*.txt") if p.name not in ("questioner.txt", "questioner_turn.txt")]
    assert judged and [p.name for p in judged if "{" in p.read_text(encoding="utf-8")] == []


def test_judges_call_no_model_directly():
    """The judging modules ask through `Judge`, not by building their own request."""
    for rel in ("games/fit.py", "transcripts/replay/compare.py", "evaluator/judge.py"):
        calls = [n.func.attr for n in ast.walk(ast.parse((ROOT / rel).read_text())) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute) and n.func.attr == "generate"]
        assert calls == [], rel
