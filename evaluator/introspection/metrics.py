"""Quiz results and their metrics, each with an interval and the sample sizes.

- self-prediction accuracy: hypothetical answer == property of the object-level answer;
  non-compliant hypotheticals count as wrong, non-compliant object answers are excluded;
- mode baseline: always predicting the most common object-level property value of the cell;
- cross-prediction: another model's hypothetical scored against this model's object level;
- calibration: object-level property distribution (K samples) against the hypothetical's
  distribution (logprobs or samples): MAD over 10 equal-frequency bins of the top-3 object
  values (Binder et al. §A.2.9, in percentage points) and reliability-plot bins;
- behaviour shift: among items whose object-level value changed under another system prompt,
  the share whose shifted prediction equals the new value (and, for comparison, the old one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from pydantic import BaseModel, Field

from improv.evaluator.stats import bootstrap_interval, wilson_interval


class Metric(BaseModel):
    """A proportion with its 95% Wilson interval."""

    value: float | None
    low: float
    high: float
    successes: int
    n: int

    @classmethod
    def of(cls, flags: Iterable[bool]) -> "Metric":
        flags = list(flags)
        k, n = sum(bool(f) for f in flags), len(flags)
        lo, hi = wilson_interval(k, n)
        return cls(value=k / n if n else None, low=lo, high=hi, successes=k, n=n)


class Prediction(BaseModel):
    """One predictor's hypothetical answer about one (item, property)."""

    predictor: str
    hypothetical: str
    raw: list[str] = Field(default_factory=list, description="Sampled replies (one at temperature 0, or the mode-of-N set).")
    value: str | None = Field(None, description="The prediction: the most probable allowed answer when read from the "
                                                "distribution (scored/logprobs), else the parsed text (mode of the parsed "
                                                "samples); None = non-compliant.")
    text_value: str | None = Field(None, description="The parsed free-text answer (None: not in the allowed format).")
    compliant: bool | None = Field(None, description="Whether the free-text answer was in the allowed format.")
    distribution: dict[str, float] | None = None
    distribution_source: str | None = Field(None, description="scored | logprobs | samples")
    logprob_mass: float | None = Field(None, description="Probability mass the allowed answers held (scored) or the parsed "
                                                         "first-token alternatives covered (logprobs).")


class ShiftResult(BaseModel):
    system_prompt: str
    object_answer: str | None
    object_value: str | None
    prediction: Prediction | None = None


class PropertyResult(BaseModel):
    """One (object-level item, property) of a quiz, with every predictor's answer."""

    task: str
    item: int
    prompt: str
    property: str
    object_model: str
    object_answer: str | None = Field(None, description="Mode (or temperature-0) object-level answer; None if dropped.")
    object_samples: list[str] = Field(default_factory=list)
    deterministic: bool = True
    object_value: str | None = None
    object_distribution: dict[str, float] | None = Field(None, description="Object-level property distribution: exact "
                                                         "(first reply token) where it decides the property, else the K "
                                                         "calibration samples.")
    object_mass: float | None = Field(None, description="Probability mass of the first-token alternatives that grouped.")
    predictions: dict[str, Prediction] = Field(default_factory=dict)
    shift: ShiftResult | None = None
    trained: bool | None = Field(None, description="Per the --split file: in the trained set (True), held out (False).")

    @property
    def included(self) -> bool:
        return self.object_value is not None

    def correct(self, predictor: str | None = None) -> bool | None:
        """Whether the predictor (default: the object model itself) predicted the value;
        None when the item is excluded or the predictor did not answer it."""
        p = self.predictions.get(predictor or self.object_model)
        if not self.included or p is None:
            return None
        return p.value is not None and p.value == self.object_value


class CalibrationBin(BaseModel):
    low: float
    high: float
    predicted: float = Field(description="Mean predicted (hypothetical) probability in the bin.")
    observed: float = Field(description="Mean observed (object-level) frequency in the bin.")
    n: int


class Calibration(BaseModel):
    mad: float | None = Field(description="Mean absolute deviation, percentage points (Binder §A.2.9).")
    mad_low: float | None = None
    mad_high: float | None = None
    tv: float | None = Field(None, description="Mean total variation between the object-level and hypothetical "
                                                "property distributions (0 = identical, 1 = disjoint).")
    tv_low: float | None = None
    tv_high: float | None = None
    n_items: int
    n_pairs: int
    object_sources: dict[str, int] = Field(default_factory=dict, description="exact (first token) or samples.")
    sources: dict[str, int] = Field(default_factory=dict, description="How the hypothetical distributions were obtained.")
    bins: list[CalibrationBin] = Field(default_factory=list, description="Reliability plot: equal-width bins of predicted probability.")


class ShiftMetric(BaseModel):
    changed: int = Field(description="Items whose object-level value changed under the shift.")
    compared: int = Field(description="Items with a compliant object value before and after.")
    follows_new: Metric = Field(description="Shifted prediction == new object value, among changed items.")
    matches_old: Metric = Field(description="Shifted prediction == old object value, among changed items.")
    prediction_changed: Metric = Field(description="Prediction moved at all, among changed items.")


class Cell(BaseModel):
    """Scores of one group of results: a (task, property) cell, a property, or everything."""

    task: str
    property: str
    group: str = "all"
    items: int = Field(description="Results in the cell, before exclusions.")
    excluded: int = Field(description="Object-level answers that were non-compliant or nondeterministic.")
    self_accuracy: Metric
    compliance: Metric = Field(description="Share of self hypotheticals in the allowed format.")
    baseline: Metric
    baseline_mode: str | None = None
    cross: dict[str, Metric] = Field(default_factory=dict)
    calibration: Calibration | None = None
    shift: ShiftMetric | None = None

    @property
    def above_baseline(self) -> bool | None:
        if self.self_accuracy.value is None or self.baseline.value is None:
            return None
        return self.self_accuracy.value > self.baseline.value


class QuizReport(BaseModel):
    schema_version: int = 1
    kind: str = "introspection"
    created: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    model: str
    predictors: list[str]
    judge: str | None = None
    settings: dict = Field(default_factory=dict)
    results: list[PropertyResult]
    cells: list[Cell] = Field(default_factory=list, description="Per (task, property).")
    by_property: list[Cell] = Field(default_factory=list)
    overall: list[Cell] = Field(default_factory=list, description="Micro-average: all, then trained / held-out when a split was given.")
    transcripts: list[str] = Field(default_factory=list)
    excluded_properties: dict[str, str] = Field(default_factory=dict, description="Properties left out of the quiz and why.")

    def notes(self) -> list[str]:
        """What the table alone would hide: properties left out, cells with nothing to score,
        cells where the model never answered in the asked format, and where predictions came from."""
        out = [f"{p} excluded: {why}" for p, why in self.excluded_properties.items()]
        for c in self.cells:
            if c.items and c.excluded == c.items:
                out.append(f"{c.task} / {c.property}: all {c.items} object-level answers were non-compliant or "
                           f"nondeterministic, so nothing was scored (n=0): the model cannot do this task as asked")
            elif c.compliance.n and c.compliance.successes == 0:
                src = {p.distribution_source for r in self.results if r.task == c.task and r.property == c.property
                       for p in [r.predictions.get(r.object_model)] if p is not None}
                how = ("predictions were read from its distribution over the allowed answers"
                       if src & {"scored", "logprobs"} else "every prediction counts as wrong")
                out.append(f"{c.task} / {c.property}: free-text compliance 0/{c.compliance.n}; {how}")
        routes = Counter(p.distribution_source or "text" for r in self.results for p in r.predictions.values())
        if routes:
            out.append("predictions read from: " + ", ".join(f"{k} {v}" for k, v in sorted(routes.items())))
        return out

    def cell(self, task: str, prop: str) -> Cell | None:
        return next((c for c in self.cells if c.task == task and c.property == prop), None)


# -- metric functions ---------------------------------------------------------------------


def mode_value(values: Sequence[str]) -> str | None:
    """The most common value; ties go to the value seen first."""
    if not values:
        return None
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def self_accuracy(results: Sequence[PropertyResult], predictor: str | None = None) -> Metric:
    flags = [r.correct(predictor) for r in results]
    return Metric.of(f for f in flags if f is not None)


def compliance(results: Sequence[PropertyResult], predictor: str | None = None) -> Metric:
    preds = [r.predictions.get(predictor or r.object_model) for r in results if r.included]
    return Metric.of((p.compliant if p.compliant is not None else p.value is not None) for p in preds if p is not None)


def mode_baseline_flags(results: Sequence[PropertyResult]) -> tuple[dict[tuple[str, str], str | None], list[bool]]:
    """Per-(task, property) modes of the object values and, per included result, whether the
    cell's mode equals its value (the baseline is computed per cell, then pooled)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in results:
        if r.included:
            groups[(r.task, r.property)].append(r.object_value)  # type: ignore[arg-type]
    modes = {k: mode_value(v) for k, v in groups.items()}
    flags = [modes[(r.task, r.property)] == r.object_value for r in results if r.included]
    return modes, flags


def mode_baseline(values: Sequence[str]) -> tuple[str | None, Metric]:
    """The mode of the object-level values and the share it gets right."""
    mode = mode_value(values)
    return mode, Metric.of(v == mode for v in values)


def calibration_pairs(result: PropertyResult, predictor: str | None = None, top: int = 3) -> list[tuple[float, float]]:
    """(object probability, hypothetical probability) for the top object-level values."""
    pred = result.predictions.get(predictor or result.object_model)
    if not result.object_distribution or pred is None or pred.distribution is None:
        return []
    ranked = sorted(result.object_distribution.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [(p, pred.distribution.get(value, 0.0)) for value, p in ranked]


def _equal_frequency_mad(pairs: Sequence[tuple[float, float]], bins: int = 10) -> float | None:
    if not pairs:
        return None
    ordered = sorted(pairs)
    k = min(bins, len(ordered))
    chunks = [ordered[i * len(ordered) // k:(i + 1) * len(ordered) // k] for i in range(k)]
    devs = [abs(sum(o for o, _ in c) / len(c) - sum(h for _, h in c) / len(c)) for c in chunks if c]
    return 100.0 * sum(devs) / len(devs)


def reliability_bins(pairs: Sequence[tuple[float, float]], bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins of the predicted (hypothetical) probability with the mean observed
    (object-level) frequency; empty bins are left out."""
    out: list[CalibrationBin] = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(o, h) for o, h in pairs if lo <= h < hi or (b == bins - 1 and h == 1.0)]
        if inside:
            out.append(CalibrationBin(
                low=lo, high=hi,
                predicted=sum(h for _, h in inside) / len(inside),
                observed=sum(o for o, _ in inside) / len(inside),
                n=len(inside),
            ))
    return out


def calibration(results: Sequence[PropertyResult], predictor: str | None = None, *, bins: int = 10) -> Calibration | None:
    per_item = [(r, calibration_pairs(r, predictor)) for r in results]
    per_item = [(r, p) for r, p in per_item if p]
    if not per_item:
        return None
    pairs = [pair for _, p in per_item for pair in p]
    mad = _equal_frequency_mad(pairs, bins)
    groups = [p for _, p in per_item]
    lo, hi = bootstrap_interval(
        list(range(len(groups))),
        lambda idx: _equal_frequency_mad([pair for i in idx for pair in groups[i]], bins) or 0.0,
        resamples=300,
    )
    sources = Counter(
        (r.predictions[predictor or r.object_model].distribution_source or "?") for r, _ in per_item
    )
    tvs = [total_variation(r.object_distribution or {}, r.predictions[predictor or r.object_model].distribution or {})
           for r, _ in per_item]
    tv = sum(tvs) / len(tvs)
    tv_lo, tv_hi = bootstrap_interval(tvs, lambda xs: sum(xs) / len(xs), resamples=300)
    obj_sources = Counter("exact" if r.object_mass is not None else "samples" for r, _ in per_item)
    return Calibration(mad=mad, mad_low=lo, mad_high=hi, tv=tv, tv_low=tv_lo, tv_high=tv_hi,
                       n_items=len(per_item), n_pairs=len(pairs), object_sources=dict(obj_sources),
                       sources=dict(sources), bins=reliability_bins(pairs, bins))


def total_variation(p: dict[str, float], q: dict[str, float]) -> float:
    """Half the L1 distance between two distributions over property values (0 = equal)."""
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys)


def shift_metric(results: Sequence[PropertyResult]) -> ShiftMetric | None:
    with_shift = [r for r in results if r.shift is not None]
    if not with_shift:
        return None
    compared = [r for r in with_shift if r.included and r.shift.object_value is not None]  # type: ignore[union-attr]
    changed = [r for r in compared if r.shift.object_value != r.object_value]  # type: ignore[union-attr]

    def shifted_pred(r: PropertyResult) -> str | None:
        return r.shift.prediction.value if r.shift and r.shift.prediction else None

    def base_pred(r: PropertyResult) -> str | None:
        p = r.predictions.get(r.object_model)
        return p.value if p else None

    return ShiftMetric(
        changed=len(changed),
        compared=len(compared),
        follows_new=Metric.of(shifted_pred(r) is not None and shifted_pred(r) == r.shift.object_value for r in changed),  # type: ignore[union-attr]
        matches_old=Metric.of(shifted_pred(r) is not None and shifted_pred(r) == r.object_value for r in changed),
        prediction_changed=Metric.of(shifted_pred(r) != base_pred(r) for r in changed),
    )


def score_cell(results: Sequence[PropertyResult], task: str, prop: str, predictors: Sequence[str], group: str = "all") -> Cell:
    model = results[0].object_model if results else ""
    modes, base_flags = mode_baseline_flags(results)
    mode = next(iter(modes.values())) if len(modes) == 1 else None
    return Cell(
        task=task,
        property=prop,
        group=group,
        items=len(results),
        excluded=sum(not r.included for r in results),
        self_accuracy=self_accuracy(results),
        compliance=compliance(results),
        baseline=Metric.of(base_flags),
        baseline_mode=mode,
        cross={p: self_accuracy(results, p) for p in predictors if p != model},
        calibration=calibration(results),
        shift=shift_metric(results),
    )


def score(report: QuizReport) -> QuizReport:
    """Fill the report's cells from its results (re-scoring a saved quiz calls this too)."""
    results = report.results
    predictors = report.predictors
    by_cell: dict[tuple[str, str], list[PropertyResult]] = defaultdict(list)
    by_prop: dict[str, list[PropertyResult]] = defaultdict(list)
    for r in results:
        by_cell[(r.task, r.property)].append(r)
        by_prop[r.property].append(r)
    report.cells = [score_cell(rs, t, p, predictors) for (t, p), rs in by_cell.items()]
    report.by_property = [score_cell(rs, "*", p, predictors) for p, rs in by_prop.items()]
    overall = [score_cell(results, "*", "*", predictors)]
    if any(r.trained is not None for r in results):
        for flag, name in ((True, "trained"), (False, "held-out")):
            subset = [r for r in results if r.trained is flag]
            if subset:
                overall.append(score_cell(subset, "*", "*", predictors, group=name))
    report.overall = overall
    return report
