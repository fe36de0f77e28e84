"""The quiz end to end: mock models, the fake OpenAI server with logprobs and cross-prediction,
the CLI and saved transcripts."""

from __future__ import annotations

import asyncio
import json

from improv.agents.registry import get_model
from improv.evaluator.introspection import Quiz, QuizSettings, Split, load_tasks, select
from improv.transcripts.store import load


def test_mock_quiz_self_right_cross_wrong():
    items = select(load_tasks(), ["animals"], ["first_character"], 4)
    model = get_model("mock/fixed:Owl")  # answers "Owl" to everything, so it predicts "Owl": non-compliant
    right = get_model("mock/fixed:o")
    seen = []
    report = asyncio.run(Quiz(right, predictors=[model]).run(items, on_item=seen.append))
    # "o" as an object answer has first character "o"; as a hypothetical it predicts "o"
    cell = report.cell("animals", "first_character")
    assert cell.self_accuracy.value == 1.0 and cell.self_accuracy.n == 4
    assert cell.cross["mock/fixed:Owl"].value == 0.0
    assert cell.baseline.value == 1.0
    assert len(seen) == 4


def test_fake_openai_logprobs_and_cross(fake_openai, clean_env):
    clean_env.setenv("FAKE_BASE_URL", fake_openai.base_url)
    clean_env.setenv("FAKE_API_KEY", "k")

    def reply(messages, body):
        text = messages[-1]["content"]
        hypothetical = text.startswith("Suppose you were asked")
        if body["model"] == "model-a":
            if not hypothetical:
                return "Eagle" if "eagle" in text.split("\n")[-1].split()[0:1] else "Owl"
            return "true" if "vowel" in text else "o"
        return "false" if "vowel" in text else "x"  # model-b predicts differently

    fake_openai.replies = reply
    a, b = get_model("openai-api/fake/model-a"), get_model("openai-api/fake/model-b")
    items = select(load_tasks(), ["animals"], ["first_character", "starts_with_vowel"], 3)
    split = Split(trained=[{"property": "first_character"}])

    async def go():
        try:
            return await Quiz(a, predictors=[b], settings=QuizSettings(k=3, exact_object=False), split=split).run(items)
        finally:
            await a.aclose()
            await b.aclose()

    report = asyncio.run(go())
    overall = {c.group: c for c in report.overall}
    assert overall["all"].self_accuracy.value == 1.0
    assert overall["all"].cross["openai-api/fake/model-b"].value == 0.0
    assert overall["trained"].self_accuracy.n == 3 and overall["held-out"].self_accuracy.n == 3
    cal = report.cell("animals", "first_character").calibration
    assert cal.sources == {"logprobs": 3} and cal.mad == 0.0  # object always "o", logprob dist {"o": 1}
    # mode of 5 temperature-0 samples on a remote backend, one request with n=5
    bodies = [r.json for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert any(b.get("n") == 5 and b.get("temperature") == 0 for b in bodies)
    assert any(b.get("logprobs") and b.get("top_logprobs") == 10 for b in bodies)
    assert all(len(b["messages"]) == 1 for b in bodies)  # fresh single-turn contexts


def test_shift_check_with_persona(tmp_path):
    items = select(load_tasks(), ["animals"], ["first_character"], 2)
    report = asyncio.run(Quiz(get_model("mock/echo"), settings=QuizSettings(shift_system_prompt="Pirate.")).run(items))
    s = report.overall[0].shift
    assert s is not None and s.compared == 2 and s.changed == 0  # echo ignores the system prompt


def test_cli_json_and_transcripts(tmp_path, capsys):
    from improv.cli import main

    split = tmp_path / "split.json"
    split.write_text(json.dumps({"trained": [{"task": "numbers"}]}))
    rc = main(["introspect", "-m", "mock/fixed:4", "--predictor", "mock/fixed:even", "--tasks", "numbers",
               "pick_number", "--properties", "is_even", "-n", "2", "--split", str(split), "--out", str(tmp_path / "o"),
               "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    groups = {c["group"]: c for c in data["overall"]}
    assert groups["trained"]["self_accuracy"]["n"] == 2 and groups["held-out"]["self_accuracy"]["n"] == 2
    assert groups["all"]["cross"]["mock/fixed:even"]["value"] == 1.0
    assert groups["all"]["self_accuracy"]["value"] == 0.0  # "4" is not "even"/"odd": non-compliant
    saved = [load(p) for p in data["transcripts"]]
    assert {t.kind for t in saved} == {"introspection"}
    hyps = [t for tr in saved for t in tr.turns if t.role == "assistant" and t.meta.get("level") == "hypothetical"]
    assert hyps and all("correct" in t.meta and t.meta["property"] == "is_even" for t in hyps)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    from improv.cli import main

    assert main(["introspect", "-m", "mock/echo", "--tasks", "nope"]) == 2
    assert main(["introspect", "-m", "mock/echo", "--properties", "nope"]) == 2
    bad = tmp_path / "split.json"
    bad.write_text("{not json")
    assert main(["introspect", "-m", "mock/echo", "--split", str(bad), "--no-save"]) == 2
    assert "split file" in capsys.readouterr().err


def test_a_judge_scored_property_without_a_judge_names_the_setting():
    import pytest

    from improv.agents.errors import SettingError
    from improv.evaluator.introspection.tasks import Item
    from improv.options import cli_error

    item = Item(task="wikipedia", index=0, prompt="Tell me about Peru.", properties=["sentiment"])
    with pytest.raises(SettingError) as err:
        asyncio.run(Quiz(get_model("mock/echo")).run([item]))
    assert err.value.setting == "judge"
    assert cli_error(err.value) == "--judge: property sentiment is judge-scored: give a --judge model, or leave the property out"
