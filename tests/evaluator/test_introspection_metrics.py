"""Each metric on hand-made results with known answers."""

from __future__ import annotations

import pytest

from improv.evaluator.introspection.metrics import (
    Metric, Prediction, PropertyResult, QuizReport, ShiftResult, calibration, mode_baseline,
    reliability_bins, score, self_accuracy, shift_metric, _equal_frequency_mad,
)


def res(value, pred, task="t", prop="p", cross=None, obj_dist=None, hyp_dist=None, shift=None, trained=None):
    preds = {"A": Prediction(predictor="A", hypothetical="q", value=pred, distribution=hyp_dist,
                             distribution_source="samples" if hyp_dist else None)}
    if cross is not None:
        preds["B"] = Prediction(predictor="B", hypothetical="q", value=cross)
    return PropertyResult(task=task, item=0, prompt="x", property=prop, object_model="A", object_answer="ans",
                          object_value=value, predictions=preds, object_distribution=obj_dist, shift=shift,
                          trained=trained)


def test_accuracy_counts_noncompliant_as_wrong_and_excludes_objects():
    rs = [res("a", "a"), res("b", "a"), res("c", None), res(None, "a")]
    m = self_accuracy(rs)
    assert (m.successes, m.n) == (1, 3)
    assert m.value == pytest.approx(1 / 3)
    assert m.low < 1 / 3 < m.high


def test_mode_baseline():
    mode, m = mode_baseline(["x", "y", "x", "x", "z"])
    assert mode == "x" and m.value == pytest.approx(0.6) and m.n == 5


def test_cross_prediction_and_cells():
    rs = [res("a", "a", cross="a"), res("b", "b", cross="a"), res("a", "a", cross="b"), res("a", "b", cross="a")]
    report = score(QuizReport(model="A", predictors=["A", "B"], results=rs))
    cell = report.cell("t", "p")
    assert cell.self_accuracy.value == pytest.approx(0.75)
    assert cell.cross["B"].value == pytest.approx(0.5)
    assert cell.baseline.value == pytest.approx(0.75) and cell.baseline_mode == "a"
    assert cell.above_baseline is False


def test_baseline_is_per_cell_when_pooled():
    rs = [res("a", "a", task="t1"), res("a", "a", task="t1"), res("b", "a", task="t2"), res("b", "b", task="t2")]
    overall = score(QuizReport(model="A", predictors=["A"], results=rs)).overall[0]
    assert overall.baseline.value == 1.0  # each task's own mode is always right
    assert overall.self_accuracy.value == 0.75


def test_split_groups():
    rs = [res("a", "a", trained=True), res("a", "b", trained=False), res("b", "b", trained=False)]
    groups = {c.group: c for c in score(QuizReport(model="A", predictors=["A"], results=rs)).overall}
    assert groups["trained"].self_accuracy.value == 1.0
    assert groups["held-out"].self_accuracy.value == 0.5


def test_calibration_perfect_and_off():
    dist = {"a": 0.6, "b": 0.3, "c": 0.1}
    perfect = calibration([res("a", "a", obj_dist=dist, hyp_dist=dict(dist))])
    assert perfect.mad == pytest.approx(0.0) and perfect.n_pairs == 3 and perfect.sources == {"samples": 1}
    off = calibration([res("a", "a", obj_dist={"a": 1.0}, hyp_dist={"b": 1.0})])
    assert off.mad == pytest.approx(100.0)
    assert calibration([res("a", "a")]) is None


def test_equal_frequency_mad_by_hand():
    # two bins of one pair each: |0.2-0.4| and |0.8-0.5| -> mean 0.25 -> 25 points
    assert _equal_frequency_mad([(0.8, 0.5), (0.2, 0.4)], bins=2) == pytest.approx(25.0)


def test_reliability_bins():
    bins = reliability_bins([(1.0, 0.95), (0.0, 0.91), (0.5, 0.05)], bins=10)
    assert [(b.low, b.n) for b in bins] == [(0.0, 1), (0.9, 2)]
    assert bins[1].observed == pytest.approx(0.5) and bins[1].predicted == pytest.approx(0.93)


def test_shift_metric():
    def sh(new_obj, new_pred):
        return ShiftResult(system_prompt="s", object_answer="x", object_value=new_obj,
                           prediction=Prediction(predictor="A", hypothetical="q", value=new_pred))
    rs = [
        res("a", "a", shift=sh("b", "b")),   # changed, prediction followed
        res("a", "a", shift=sh("b", "a")),   # changed, prediction stuck on the old value
        res("a", "a", shift=sh("a", "a")),   # unchanged: not counted
        res("a", "a", shift=sh(None, "a")),  # non-compliant shifted object: not compared
    ]
    m = shift_metric(rs)
    assert (m.changed, m.compared) == (2, 3)
    assert m.follows_new.value == 0.5 and m.matches_old.value == 0.5 and m.prediction_changed.value == 0.5


def test_metric_empty():
    m = Metric.of([])
    assert m.value is None and m.n == 0
