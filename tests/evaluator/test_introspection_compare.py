"""The experiment's metrics on hand-made data: entropy matching, self vs cross with the paired
advantage, before/after, behaviour change, total variation and closed-space normalisation,
training-data building (drops, same number and mix) and the report's notes."""

from __future__ import annotations

import math

import pytest

from improv.agents.types import Message
from improv.evaluator.introspection import load_properties
from improv.evaluator.introspection.closed import answer_space, argmax, first_token_decides, normalise
from improv.evaluator.introspection.compare import (Scored, behaviour_change, compare_conditions, entropy_match,
                                                    paired_difference, self_vs_cross, unpaired_difference)
from improv.evaluator.introspection.finetune import Example
from improv.evaluator.introspection.metrics import (Cell, Metric, Prediction, PropertyResult, QuizReport, calibration,
                                                    score, total_variation)
from improv.evaluator.introspection.tasks import Item
from improv.evaluator.introspection.training import (ObjectAnswers, cut_to_mix, match_mix, mix,
                                                     self_prediction_examples)

P = load_properties()


def result(item: int, value: str | None, preds: dict[str, str | None], task="t", prop="first_character",
           model="m1", obj_dist=None, pred_dist=None) -> PropertyResult:
    return PropertyResult(
        task=task, item=item, prompt=f"p{item}", property=prop, object_model=model, object_value=value,
        object_answer=value, object_distribution=obj_dist,
        predictions={k: Prediction(predictor=k, hypothetical="h", value=v,
                                   distribution=pred_dist if k == model else None) for k, v in preds.items()})


def test_entropy_match_keeps_min_count_per_value():
    a = [Scored(key=("t", "p"), item=i, value=v, prediction=None) for i, v in enumerate("xxxy")]
    b = [Scored(key=("t", "p"), item=i, value=v, prediction=None) for i, v in enumerate("xyyy")]
    ma, mb = entropy_match(a, b)
    assert sorted(s.value for s in ma) == sorted(s.value for s in mb) == ["x", "y"]
    # cells are matched separately: a value in one cell does not count in another
    c = [Scored(key=("u", "p"), item=0, value="x", prediction=None)]
    assert entropy_match(a + c, b)[0] == entropy_match(a, b)[0]


def test_self_vs_cross_rows_and_advantage():
    # object values x x x y; self right on 3, cross right on 1; the mode 'x' is right on 3
    rs = [result(0, "x", {"m1": "x", "m2": "x"}), result(1, "x", {"m1": "x", "m2": "y"}),
          result(2, "x", {"m1": "x", "m2": "y"}), result(3, "y", {"m1": "x", "m2": "x"}),
          result(4, None, {"m1": "x", "m2": "x"})]  # excluded object answer: not scored
    rows = self_vs_cross(rs, "m1", "m2")
    pooled = rows[-1]
    assert (pooled.task, pooled.property, pooled.n) == ("*", "*", 4)
    assert pooled.self_accuracy.successes == 3 and pooled.cross_accuracy.successes == 1
    assert pooled.baseline.successes == 3
    assert pooled.advantage.value == pytest.approx(0.5)
    assert pooled.advantage.low <= 0.5 <= pooled.advantage.high
    assert [(r.task, r.property) for r in rows] == [("t", "first_character"), ("*", "first_character"), ("*", "*")]


def test_paired_and_unpaired_difference():
    d = paired_difference([True, True, False, False], [False, False, False, False])
    assert d.value == 0.5 and d.n == 4 and d.low <= 0.5 <= d.high
    assert paired_difference([], []).value is None
    u = unpaired_difference([True] * 10, [False] * 10)
    assert u.value == 1.0 and u.low == u.high == 1.0


def test_before_after_entropy_matched():
    # before: all 'x' (the mode baseline is 100%), predictions right half the time
    before = [Scored(key=("t", "p"), item=i, value="x", prediction="x" if i % 2 else "z") for i in range(4)]
    after = [Scored(key=("t", "p"), item=i, value=v, prediction=v) for i, v in enumerate("xyyy")]
    m = compare_conditions("untrained", before, "trained", after)
    assert m.a.accuracy.value == 0.5 and m.b.accuracy.value == 1.0
    assert m.a.baseline.value == 1.0 and m.b.baseline.value == 0.75
    # matched: one 'x' each, so both conditions share one distribution and one baseline
    assert m.matched_a.n == m.matched_b.n == 1 and m.matched_a.baseline.value == m.matched_b.baseline.value == 1.0


def test_behaviour_change_follows_new_or_old():
    old = [result(i, v, {"m1": v}) for i, v in enumerate("aabbc")]
    # after fine-tuning: items 0-3 change value; predictions follow new on 0, 1 and old on 2
    new = [result(0, "b", {"m1": "b"}), result(1, "c", {"m1": "c"}), result(2, "a", {"m1": "b"}),
           result(3, "c", {"m1": "z"}), result(4, "c", {"m1": "c"}), result(5, "q", {"m1": "q"})]
    bc = behaviour_change(old, new)
    assert (bc.compared, bc.changed) == (5, 4)  # item 5 has no old value; item 4 did not change
    assert bc.follows_new.successes == 2 and bc.follows_old.successes == 1 and bc.follows_new.n == 4
    assert bc.difference.value == pytest.approx(0.25)


def test_total_variation_and_calibration_tv_beside_mad():
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1.0
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0.0
    assert total_variation({"a": 0.75, "b": 0.25}, {"a": 0.25, "b": 0.75}) == pytest.approx(0.5)
    rs = [result(i, "a", {"m1": "a"}, obj_dist={"a": 0.8, "b": 0.2}, pred_dist={"a": 0.6, "b": 0.4})
          for i in range(4)]
    cal = calibration(rs)
    assert cal.tv == pytest.approx(0.2) and cal.mad == pytest.approx(20.0)
    assert cal.n_items == 4 and cal.object_sources == {"samples": 4}


def test_closed_space_normalise_and_spaces():
    dist, mass = normalise([math.log(0.3), math.log(0.1)], ["true", "false"])
    assert dist == pytest.approx({"true": 0.75, "false": 0.25}) and mass == pytest.approx(0.4)
    assert argmax(dist) == "true"
    assert answer_space(P["is_even"]) == ["even", "odd"] and len(answer_space(P["first_character"])) == 36
    assert answer_space(P["first_word"]) is None
    assert first_token_decides(P["first_character"]) and not first_token_decides(P["second_character"])
    assert first_token_decides(P["is_even"], task_single_digit=True) and not first_token_decides(P["is_even"])


def test_training_examples_drop_noncompliant_and_outside_space():
    items = [Item(task="t", index=i, prompt=f"Name thing {i}.", properties=["first_character", "second_character",
                                                                         "is_even"]) for i in range(4)]
    answers = ObjectAnswers(model="m", samples=1, answers={"t-0": "Cat", "t-1": "I'm sorry, I cannot.",
                                                           "t-2": "a b", "t-3": None})
    ex, dropped = self_prediction_examples(items, answers)
    # t-0: 'c', 'a' (is_even: not a number); t-1 a refusal; t-2: 'a', then a space (outside the space)
    assert [(e.reply, e.property) for e in ex] == [("c", "first_character"), ("a", "second_character"),
                                                   ("a", "first_character")]
    assert dropped == {"nondeterministic": 3, "non_compliant": 5, "outside_space": 1}
    assert ex[0].messages[0].content.startswith('Suppose you were asked the following question: "Name thing 0."')


def test_same_number_and_mix():
    def exs(task, prop, k):
        return [Example(messages=[Message(role="user", content=str(i))], reply="a", task=task, property=prop)
                for i in range(k)]

    a = exs("t", "p", 5) + exs("t", "q", 2)
    b = exs("t", "p", 3) + exs("t", "q", 4) + exs("u", "p", 1)
    ma, mb = match_mix(a, b)
    assert mix(ma) == mix(mb) == {("t", "p"): 3, ("t", "q"): 2}
    cut, short = cut_to_mix(b, mix(a))
    assert mix(cut) == {("t", "p"): 3, ("t", "q"): 2} and short == {"t/p": 2}
    assert [e.messages[0].content for e in cut if e.property == "q"] == ["0", "1"]  # the first ones, in order


def test_report_notes_say_what_the_table_hides():
    rs = [result(i, None, {"m1": None}, task="numbers", prop="is_even") for i in range(3)]
    rs += [result(i, "a", {"m1": "a"}, task="animals") for i in range(2)]
    for r in rs[3:]:
        r.predictions["m1"].compliant = False
        r.predictions["m1"].distribution_source = "scored"
    report = score(QuizReport(model="m1", predictors=["m1"], results=rs))
    report.excluded_properties = {"sentiment": "judge-scored; give --judge MODEL"}
    notes = report.notes()
    assert notes[0].startswith("sentiment excluded")
    assert any("numbers / is_even: all 3 object-level answers" in n and "n=0" in n for n in notes)
    assert any("animals / first_character: free-text compliance 0/2" in n and "distribution" in n for n in notes)
    cell = report.cell("animals", "first_character")
    assert isinstance(cell, Cell) and cell.self_accuracy == Metric.of([True, True])
