"""Self-prediction training end to end on tiny models built in the test: closed-space predictions
for every item, `improv introspect train` (self and --predict-for), and the two-model experiment
(training, cross-training, behaviour change, quizzes, comparisons), resumed after a stop."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig, Message
from improv.cli import main as cli
from improv.evaluator.introspection import Quiz, QuizSettings, load_properties
from improv.evaluator.introspection.closed import closed
from improv.evaluator.introspection.experiment import Experiment, ExperimentSettings, analyse
from improv.evaluator.introspection.finetune import Example, FinetuneSettings, finetune
from improv.evaluator.introspection.training import Plan, TaskSpec
from tests.tiny_model import build_tiny_model

PLAN = Plan(
    train=[TaskSpec(task="short_answers", items="0:4", properties=["first_character", "starts_with_vowel"])],
    held_out=[TaskSpec(task="animals", items="0:3", properties=["first_character", "starts_with_vowel"]),
              TaskSpec(task="multiple_choice", items="18:21", properties=["among_a_or_c"])],
)
WORDS = ["cat", "apple", "owl", "B", "dog", "emu", "A", "7"]


def _taught(tmp, name: str, seed: int, arch: str = "llama") -> str:
    """A tiny random model taught to answer the plan's prompts with words (so it has behaviour)."""
    base = build_tiny_model(tmp / f"{name}-base", arch=arch, seed=seed)
    rng = random.Random(seed)
    words = rng.sample(WORDS, 3)
    examples = [Example(messages=[Message(role="user", content=i.prompt)], reply=rng.choice(words))
                for i in PLAN.items("train") + PLAN.items("held_out")]
    finetune(base, examples, tmp / name, FinetuneSettings(method="full", epochs=40, lr=1e-2, batch_size=9, seed=seed))
    return str(tmp / name)


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("taught")
    return _taught(tmp, "a", 1), _taught(tmp, "b", 2, arch="gpt2")


def test_taught_model_answers_and_trained_folder_loads(taught):
    async def go():
        m = get_model(f"hf/{taught[0]}")
        try:
            c = await m.generate([Message(role="user", content=PLAN.items("train")[0].prompt)],
                                 GenerateConfig(temperature=0, max_tokens=4))
        finally:
            await m.aclose()
        return c.choices[0].text

    text = asyncio.run(go()).strip()
    assert text and text[0].lower() in "".join(WORDS).lower()  # behaviour with a first character


def test_every_closed_property_gets_a_prediction_from_the_distribution(tmp_path):
    # an untrained random model never answers in the asked format, yet every item is predicted
    path = build_tiny_model(tmp_path / "m", seed=3)
    props = load_properties()
    items = [i.model_copy(update={"properties": [p for p in i.properties if closed(props[p])]})
             for i in PLAN.items("held_out")]

    async def go():
        m = get_model(f"hf/{path}")
        try:
            return await Quiz(m, settings=QuizSettings(hypothetical_max_tokens=3, object_max_tokens=4)).run(items)
        finally:
            await m.aclose()

    report = asyncio.run(go())
    preds = [r.predictions[r.object_model] for r in report.results]
    assert len(preds) == sum(len(i.properties) for i in items)
    assert all(p.value is not None and p.distribution_source == "scored" for p in preds)
    assert all(abs(sum(p.distribution.values()) - 1) < 1e-6 for p in preds)
    assert all(p.compliant is False and p.text_value is None for p in preds)  # free text reported beside
    assert report.overall[0].compliance.successes == 0


def test_cli_train_self_and_cross_same_mix(taught, tmp_path, capsys, clean_env):
    plan = tmp_path / "plan.json"
    plan.write_text(PLAN.model_dump_json())
    out_self, out_cross = tmp_path / "self", tmp_path / "cross"
    assert cli(["introspect", "train", "-m", f"hf/{taught[0]}", "--out", str(out_self), "--plan", str(plan),
                "--epochs", "1", "--json"]) == 0
    self_info = json.loads(capsys.readouterr().out)
    assert cli(["introspect", "train", "-m", f"hf/{taught[1]}", "--predict-for", f"hf/{taught[0]}",
                "--out", str(out_cross), "--plan", str(plan), "--epochs", "1", "--json"]) == 0
    cross_info = json.loads(capsys.readouterr().out)
    assert self_info["mix"] == cross_info["mix"] and 4 <= sum(self_info["mix"].values()) <= 8
    assert self_info["result"]["method"] == "lora" and (out_self / "config.json").is_file()
    # the folder is a plain transformers model (LoRA merged) that hf/ loads
    assert not (out_self / "adapter_config.json").exists()
    assert cli(["ask", "-m", f"hf/{out_self}", "--max-tokens", "2", "--no-save", "Name an animal."]) == 0
    # an existing folder is refused, exit 2
    assert cli(["introspect", "train", "-m", f"hf/{taught[0]}", "--out", str(out_self), "--plan", str(plan)]) == 2


def test_experiment_end_to_end_and_resume(taught, tmp_path):
    run = tmp_path / "run"

    def experiment():
        models = {"alpha": get_model(f"hf/{taught[0]}"), "beta": get_model(f"hf/{taught[1]}")}
        return models, Experiment(models, run, get_model, plan=PLAN,
                                  settings=ExperimentSettings(epochs=1, change_epochs=2, batch_size=4))

    async def go(exp, models, stop_after=None):
        seen = []

        def progress(what, done, total):
            seen.append(what)
            if stop_after and any(stop_after in s for s in seen) and done == total and total > 1:
                raise KeyboardInterrupt
        try:
            return await exp.run_all(progress)
        finally:
            for m in models.values():
                await m.aclose()

    models, exp = experiment()
    with pytest.raises(KeyboardInterrupt):  # interrupted after the first quiz
        asyncio.run(go(exp, models, stop_after="quiz alpha-untrained"))
    trained = {p.name: p.stat().st_mtime_ns for p in (run / "models").iterdir()}
    assert {"alpha-self", "beta-self", "beta-predicts-alpha", "alpha-predicts-beta", "alpha-changed",
            "beta-changed"} <= set(trained)
    models, exp = experiment()
    result = asyncio.run(go(exp, models))
    assert {p.name: p.stat().st_mtime_ns for p in (run / "models").iterdir() if p.name in trained} == trained
    # the cross-predictor saw the same number and mix of examples as the self-predictor
    data = {n: json.loads((run / "data" / f"{n}.json").read_text()) for n in ("alpha-self", "beta-predicts-alpha")}
    mixes = [sorted((e["task"], e["property"]) for e in d) for d in data.values()]
    assert mixes[0] == mixes[1]
    assert [p.m1 for p in result.pairs] == ["alpha", "beta"]
    pooled = result.pairs[0].self_vs_cross[-1]
    quiz = json.loads((run / "quizzes" / "alpha-self.json").read_text())
    included = sum(r["object_value"] is not None for r in quiz["results"])
    assert (pooled.task, pooled.property) == ("*", "*") and pooled.n == included > 0
    assert pooled.self_accuracy.n == pooled.cross_accuracy.n == pooled.baseline.n == included
    assert 0 < result.pairs[0].behaviour_change.compared <= 9
    assert [c.label for c in result.pairs[0].calibration] == ["untrained", "self-trained", "cross-trained"]
    assert analyse(run).model_dump() == json.loads((run / "results.json").read_text()) | {
        "timings": analyse(run).timings}


def test_smollm2_untrained_every_closed_property_predicted(smollm2_gguf, tmp_path, capsys, clean_env):
    # a real chat model nobody here trained: it rarely answers a hypothetical in the asked format,
    # yet every closed-space (item, property) gets a prediction read from its distribution, and
    # the free-text compliance is reported beside it
    from improv.evaluator.introspection.training import load_plan

    props = ["first_character", "second_character", "starts_with_vowel", "is_even", "among_a_or_c", "among_b_or_d"]
    code = cli(["introspect", "-m", f"hf/{smollm2_gguf}", "--tasks", "animals", "numbers", "multiple_choice",
                "--properties", *props, "-n", "1", "--no-save", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out["results"]) == 3 + 2 + 2  # animals 3 of these, numbers 2, multiple_choice 2
    preds = [r["predictions"][r["object_model"]] for r in out["results"]]
    assert all(p["value"] is not None and p["distribution_source"] == "scored" for p in preds)
    assert all(p["compliant"] in (True, False) for p in preds)
    assert load_plan().held_out  # the experiment's held-out side uses only closed-space properties
