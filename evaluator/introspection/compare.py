"""The comparisons that carry the introspection claim (Binder et al. 2024, sections 3-4):

- self vs cross: M1 (self-trained) and M2 (trained on M1's behaviour) predicting M1's object
  behaviour on held-out tasks, beside the mode baseline, per (task, property) and pooled, with
  the self - cross advantage and its paired bootstrap interval;
- before vs after training: accuracy of the untrained and the self-trained M1, each against its
  own object behaviour, after entropy matching (the two object distributions differ, so their
  baselines would too), and calibration (MAD and total variation) untrained / self / cross;
- behaviour change: among held-out items whose object property changed when the self-trained
  model was fine-tuned on another model's answers, the share of predictions equal to the new
  value and to the old one, plain and entropy-matched.

Entropy matching (``adjust_for_entropy`` in the paper's analysis): within each (task, property),
for every value, both conditions keep ``min(count_A, count_B)`` items with that value (a seeded
random subset), so both score against one object-value distribution and one mode baseline.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, Field

from improv.evaluator.stats import bootstrap_interval

from .metrics import Calibration, Metric, PropertyResult, calibration, mode_value


class Scored(BaseModel):
    """One (item, property) under one condition: the object value it is scored against and the
    prediction."""

    key: tuple[str, str]
    item: int
    value: str
    prediction: str | None

    @property
    def correct(self) -> bool:
        return self.prediction is not None and self.prediction == self.value


def scored(results: Sequence[PropertyResult], predictor: str | None = None) -> list[Scored]:
    out = []
    for r in results:
        p = r.predictions.get(predictor or r.object_model)
        if r.included and p is not None:
            out.append(Scored(key=(r.task, r.property), item=r.item, value=r.object_value, prediction=p.value))
    return out


def entropy_match(a: Sequence[Scored], b: Sequence[Scored], seed: int = 42) -> tuple[list[Scored], list[Scored]]:
    """Downsample both conditions so that, within each (task, property), every object value is
    kept ``min(count_A, count_B)`` times in both."""
    rng = random.Random(seed)
    out_a: list[Scored] = []
    out_b: list[Scored] = []
    groups_a: dict[tuple, list[Scored]] = defaultdict(list)
    groups_b: dict[tuple, list[Scored]] = defaultdict(list)
    for s in a:
        groups_a[(s.key, s.value)].append(s)
    for s in b:
        groups_b[(s.key, s.value)].append(s)
    for g in sorted(set(groups_a) | set(groups_b)):
        xs, ys = groups_a.get(g, []), groups_b.get(g, [])
        k = min(len(xs), len(ys))
        out_a.extend(rng.sample(xs, k) if len(xs) > k else xs)
        out_b.extend(rng.sample(ys, k) if len(ys) > k else ys)
    return out_a, out_b


def accuracy(rows: Sequence[Scored]) -> Metric:
    return Metric.of(r.correct for r in rows)


def baseline(rows: Sequence[Scored]) -> Metric:
    """The mode baseline, computed per (task, property) and pooled."""
    by: dict[tuple, list[str]] = defaultdict(list)
    for r in rows:
        by[r.key].append(r.value)
    modes = {k: mode_value(v) for k, v in by.items()}
    return Metric.of(modes[r.key] == r.value for r in rows)


class Difference(BaseModel):
    """A difference of two proportions with a 95% bootstrap interval."""

    value: float | None
    low: float | None
    high: float | None
    n: int


def paired_difference(a: Sequence[bool], b: Sequence[bool], seed: int = 0) -> Difference:
    """mean(a) - mean(b) over paired items, bootstrap over items."""
    pairs = list(zip(a, b))
    if not pairs:
        return Difference(value=None, low=None, high=None, n=0)
    value = sum(x for x, _ in pairs) / len(pairs) - sum(y for _, y in pairs) / len(pairs)
    lo, hi = bootstrap_interval(list(range(len(pairs))),
                                lambda idx: sum(pairs[i][0] - pairs[i][1] for i in idx) / len(idx), seed=seed)
    return Difference(value=value, low=lo, high=hi, n=len(pairs))


def unpaired_difference(a: Sequence[bool], b: Sequence[bool], seed: int = 0) -> Difference:
    """mean(a) - mean(b) for two independent samples, bootstrap within each."""
    if not a or not b:
        return Difference(value=None, low=None, high=None, n=min(len(a), len(b)))
    rng = random.Random(seed)
    value = sum(a) / len(a) - sum(b) / len(b)
    stats = []
    for _ in range(1000):
        ra = [a[rng.randrange(len(a))] for _ in a]
        rb = [b[rng.randrange(len(b))] for _ in b]
        stats.append(sum(ra) / len(ra) - sum(rb) / len(rb))
    stats.sort()
    return Difference(value=value, low=stats[25], high=stats[974], n=min(len(a), len(b)))


# -- self vs cross -------------------------------------------------------------------------------


class CrossRow(BaseModel):
    task: str
    property: str
    n: int
    self_accuracy: Metric
    cross_accuracy: Metric
    baseline: Metric
    advantage: Difference = Field(description="self - cross, paired over items.")


def self_vs_cross(results: Sequence[PropertyResult], self_name: str, cross_name: str) -> list[CrossRow]:
    """Rows per (task, property), then per property, then pooled ("*", "*"). Only items that
    both predictors answered; both are scored against the same object values (no matching
    needed: one object distribution, one baseline)."""
    pairs: list[tuple[Scored, Scored]] = []
    for r in results:
        s, c = r.predictions.get(self_name), r.predictions.get(cross_name)
        if r.included and s is not None and c is not None:
            pairs.append((Scored(key=(r.task, r.property), item=r.item, value=r.object_value, prediction=s.value),
                          Scored(key=(r.task, r.property), item=r.item, value=r.object_value, prediction=c.value)))
    groups: dict[tuple[str, str], list[tuple[Scored, Scored]]] = defaultdict(list)
    for p in pairs:
        groups[p[0].key].append(p)
        groups[("*", p[0].key[1])].append(p)
        groups[("*", "*")].append(p)

    def row(key: tuple[str, str], ps: list[tuple[Scored, Scored]]) -> CrossRow:
        s_rows = [a for a, _ in ps]
        c_rows = [b for _, b in ps]
        return CrossRow(task=key[0], property=key[1], n=len(ps), self_accuracy=accuracy(s_rows),
                        cross_accuracy=accuracy(c_rows), baseline=baseline(s_rows),
                        advantage=paired_difference([a.correct for a in s_rows], [b.correct for b in c_rows]))

    order = sorted(groups, key=lambda k: (k[0] == "*", k[1] == "*", k))
    return [row(k, groups[k]) for k in order]


# -- before vs after -----------------------------------------------------------------------------


class Condition(BaseModel):
    label: str
    n: int
    accuracy: Metric
    baseline: Metric
    compliance: Metric | None = None


class Matched(BaseModel):
    """Two conditions compared as measured and after entropy matching."""

    a: Condition
    b: Condition
    difference: Difference = Field(description="b - a (unpaired bootstrap).")
    matched_a: Condition
    matched_b: Condition
    matched_difference: Difference


def _condition(label: str, rows: Sequence[Scored], compliance: Metric | None = None) -> Condition:
    return Condition(label=label, n=len(rows), accuracy=accuracy(rows), baseline=baseline(rows), compliance=compliance)


def compare_conditions(label_a: str, rows_a: Sequence[Scored], label_b: str, rows_b: Sequence[Scored]) -> Matched:
    ma, mb = entropy_match(rows_a, rows_b)
    return Matched(
        a=_condition(label_a, rows_a), b=_condition(label_b, rows_b),
        difference=unpaired_difference([r.correct for r in rows_b], [r.correct for r in rows_a]),
        matched_a=_condition(label_a, ma), matched_b=_condition(label_b, mb),
        matched_difference=unpaired_difference([r.correct for r in mb], [r.correct for r in ma]),
    )


class CalibrationRow(BaseModel):
    label: str
    calibration: Calibration | None


def calibration_rows(conditions: Sequence[tuple[str, Sequence[PropertyResult], str | None]]) -> list[CalibrationRow]:
    """MAD and total variation per condition: (label, results, predictor)."""
    return [CalibrationRow(label=label, calibration=calibration([r for r in rs if r.included], pred))
            for label, rs, pred in conditions]


# -- behaviour change ----------------------------------------------------------------------------


class BehaviourChange(BaseModel):
    compared: int = Field(description="Held-out (item, property) with a compliant object value before and after.")
    changed: int = Field(description="Of those, where the object value changed.")
    follows_new: Metric
    follows_old: Metric
    difference: Difference = Field(description="new - old, paired over the changed items.")
    matched_new: Metric = Field(description="Entropy-matched: new and old labels downsampled to one distribution.")
    matched_old: Metric
    matched_difference: Difference


def behaviour_change(old: Sequence[PropertyResult], new: Sequence[PropertyResult]) -> BehaviourChange:
    """``old``: the self-trained model's quiz; ``new``: the quiz of that model after fine-tuning
    on another model's object-level answers (its own predictions and object values)."""
    before = {(r.task, r.item, r.property): r for r in old if r.included}
    new_rows: list[Scored] = []
    old_rows: list[Scored] = []
    compared = 0
    for r in new:
        k = (r.task, r.item, r.property)
        if not r.included or k not in before:
            continue
        compared += 1
        old_value = before[k].object_value
        if old_value == r.object_value:
            continue
        p = r.predictions.get(r.object_model)
        pred = p.value if p else None
        new_rows.append(Scored(key=(r.task, r.property), item=r.item, value=r.object_value, prediction=pred))
        old_rows.append(Scored(key=(r.task, r.property), item=r.item, value=old_value, prediction=pred))
    mn, mo = entropy_match(new_rows, old_rows)
    return BehaviourChange(
        compared=compared, changed=len(new_rows),
        follows_new=accuracy(new_rows), follows_old=accuracy(old_rows),
        difference=paired_difference([r.correct for r in new_rows], [r.correct for r in old_rows]),
        matched_new=accuracy(mn), matched_old=accuracy(mo),
        matched_difference=unpaired_difference([r.correct for r in mn], [r.correct for r in mo]),
    )
