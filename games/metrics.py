"""Commitment metrics over resampled reveals and answers (pure functions, no model calls).

- `distribution(labels)` / `reveal_distribution(reveals)`: distinct count, entropy in bits over
  the objects named (non-reveals counted apart), effective number 2^H, top-1 mass, a
  bias-corrected bootstrap interval of the entropy that contains the estimate;
- `consistency(fits)`: share of reveals that fit every earlier answer with its n, first
  contradicted turn; "nothing to check" is counted apart, never a fit;
- `posterior_from_scores(candidates, logliks)`: the exact posterior from log-likelihoods;
- `information_gain(entropies)`: bits each question removed;
- `flip_summary(labels, original)`: how often a resampled answer differs from the original.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from improv.evaluator.stats import entropy_bits, wilson_interval

if TYPE_CHECKING:
    from .answers import Reveal


class RevealDistribution(BaseModel):
    """The distribution of K reveals over the objects they name; non-reveals are counted apart."""

    k: int = Field(description="Reveals sampled.")
    objects: int = Field(0, description="Reveals that named an object (table or open label): the entropy's n.")
    non_reveals: int = Field(0, description="Reveals that named no object; never in the entropy.")
    non_reveal_reasons: dict[str, int] = Field(default_factory=dict)
    in_table: int = Field(0, description="Reveals naming an object of the candidate table.")
    counts: dict[str, int] = Field(description="Object -> count, most frequent first (objects only).")
    distinct: int
    entropy_bits: float | None = Field(description="Plug-in entropy over the objects named; None when none was.")
    entropy_ci: tuple[float, float] | None = Field(
        None, description="95% bias-corrected percentile bootstrap interval: the percentile interval of the "
                          "resampled plug-in entropy shifted by the bootstrap bias estimate, widened to contain "
                          "the plug-in estimate.")
    effective_number: float | None = None
    top: str | None
    top_mass: float | None = Field(description="Share of the object reveals naming the top object.")

    def share(self, label: str) -> float | None:
        """Share of the object reveals naming ``label``; None when no reveal named an object."""
        return self.counts.get(label, 0) / self.objects if self.objects else None


def _entropy_of(items: Sequence[str]) -> float:
    return entropy_bits(Counter(items))


def entropy_interval(labels: Sequence[str], *, resamples: int = 500, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Bias-corrected percentile bootstrap interval of the entropy of ``labels`` (bits).

    The plug-in entropy of a resample is biased low (K=8 distinct reveals give 3 bits; no
    resample of them does), so the plain percentile interval can miss the estimate. Shifting the
    interval by the bootstrap bias estimate (mean resampled entropy - plug-in) corrects that; it is
    then widened, if need be, to contain the plug-in estimate, and floored at 0.
    """
    if not labels:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(labels)
    h = _entropy_of(labels)
    stats = sorted(_entropy_of([labels[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    bias = sum(stats) / len(stats) - h
    alpha = (1 - level) / 2
    lo = stats[int(alpha * (len(stats) - 1))] - bias
    hi = stats[int(round((1 - alpha) * (len(stats) - 1)))] - bias
    return (max(0.0, min(lo, h)), max(hi, h))


def distribution(labels: Sequence[str], *, resamples: int = 500, seed: int = 0, non_reveals: Sequence[str] = (),
                 in_table: int | None = None) -> RevealDistribution:
    """``labels``: the objects named; ``non_reveals``: the reasons of the reveals that named none."""
    counter = Counter(labels)
    n = len(labels)
    ordered = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    top = next(iter(ordered), None)
    h = entropy_bits(counter) if n else None
    return RevealDistribution(
        k=n + len(non_reveals),
        objects=n,
        non_reveals=len(non_reveals),
        non_reveal_reasons=dict(Counter(non_reveals).most_common()),
        in_table=n if in_table is None else in_table,
        counts=ordered,
        distinct=len(counter),
        entropy_bits=h,
        entropy_ci=entropy_interval(list(labels), resamples=resamples, seed=seed) if n else None,
        effective_number=2.0 ** h if h is not None else None,
        top=top,
        top_mass=(ordered[top] / n) if top is not None else None,
    )


def reveal_distribution(reveals: Sequence["Reveal"], **kw) -> RevealDistribution:
    """`distribution` over `answers.Reveal` readings: objects in, non-reveals counted apart."""
    objs = [r.label for r in reveals if r.is_object]
    return distribution(objs, non_reveals=[r.non_reveal or "" for r in reveals if not r.is_object],
                        in_table=sum(1 for r in reveals if r.is_object and r.in_table), **kw)


class RevealFit(BaseModel):
    """How one reveal fares against the earlier (question, answer) pairs."""

    object: str
    fits: list[bool | None] = Field(description="Per earlier question: fits, contradicts, or undecided/not checkable (None).")
    checkable: list[bool] = Field(default_factory=list, description="Per earlier question: was the answer yes or no.")
    consistent: bool | None = Field(description="False if any answer is contradicted; True if at least one was checked and "
                                                 "none contradicted or undecided; None otherwise (see `nothing_to_check`).")
    nothing_to_check: bool = Field(False, description="No earlier yes/no answer could be checked against it.")
    first_contradiction: int | None = Field(None, description="1-based question number of the first contradicted answer.")


def reveal_fit(obj: str, fits: Sequence[bool | None], checkable: Sequence[bool] | None = None) -> RevealFit:
    checkable = list(checkable) if checkable is not None else [True] * len(fits)
    first = next((i + 1 for i, f in enumerate(fits) if f is False), None)
    decided = sum(1 for f, c in zip(fits, checkable) if c and f is not None)
    undecided = any(c and f is None for f, c in zip(fits, checkable))
    nothing = first is None and decided == 0 and not undecided
    if first is not None:
        consistent: bool | None = False
    elif undecided or nothing:
        consistent = None
    else:
        consistent = True
    return RevealFit(object=obj, fits=list(fits), checkable=checkable, consistent=consistent, nothing_to_check=nothing,
                     first_contradiction=first)


class Consistency(BaseModel):
    n: int = Field(description="Object reveals (non-reveals are not checked).")
    checked: int = Field(0, description="Reveals decided against at least one earlier yes/no answer: the share's n.")
    consistent: int
    contradicted: int
    undecided: int = Field(description="Some earlier answer could not be decided for the object (outside the table, no judge).")
    nothing_to_check: int = Field(0, description="No earlier yes/no answer to check (turn 0, or every answer unsure/invalid).")
    share: float | None = Field(description="consistent / (consistent + contradicted); None ('n/a') when nothing was decided.")
    share_ci: tuple[float, float] | None = Field(None, description="95% Wilson interval of the share.")
    first_contradiction: int | None = Field(None, description="Earliest contradicted question over all reveals.")
    first_contradiction_counts: dict[int, int] = Field(default_factory=dict)


def consistency(fits: Sequence[RevealFit]) -> Consistency:
    ok = sum(1 for f in fits if f.consistent is True)
    bad = sum(1 for f in fits if f.consistent is False)
    nothing = sum(1 for f in fits if f.nothing_to_check)
    und = sum(1 for f in fits if f.consistent is None and not f.nothing_to_check)
    decided = ok + bad
    firsts = Counter(f.first_contradiction for f in fits if f.first_contradiction is not None)
    return Consistency(
        n=len(fits),
        checked=decided,
        consistent=ok,
        contradicted=bad,
        undecided=und,
        nothing_to_check=nothing,
        share=(ok / decided) if decided else None,
        share_ci=wilson_interval(ok, decided) if decided else None,
        first_contradiction=min(firsts) if firsts else None,
        first_contradiction_counts=dict(sorted(firsts.items())),
    )


class Posterior(BaseModel):
    """Exact posterior over candidates from the likelihood of each reveal sentence."""

    probabilities: dict[str, float] = Field(description="Candidate -> probability, highest first.")
    entropy_bits: float
    effective_number: float
    top: str | None
    top_mass: float


def posterior_from_scores(candidates: Sequence[str], logliks: Sequence[float]) -> Posterior:
    if len(candidates) != len(logliks):
        raise ValueError("one log-likelihood per candidate")
    if not candidates:
        return Posterior(probabilities={}, entropy_bits=0.0, effective_number=1.0, top=None, top_mass=0.0)
    m = max(logliks)
    weights = [math.exp(lp - m) for lp in logliks]
    z = sum(weights)
    probs = {c: w / z for c, w in zip(candidates, weights)}
    ordered = dict(sorted(probs.items(), key=lambda kv: (-kv[1], kv[0])))
    h = entropy_bits(list(ordered.values()))
    top = next(iter(ordered))
    return Posterior(probabilities=ordered, entropy_bits=h, effective_number=2.0 ** h, top=top, top_mass=ordered[top])


def information_gain(entropies: Sequence[float]) -> list[float]:
    """Bits each question gained: H(t-1) - H(t), for t = 1..T."""
    return [entropies[i - 1] - entropies[i] for i in range(1, len(entropies))]


class FlipSummary(BaseModel):
    k: int
    original: str | None
    counts: dict[str, int]
    flip_rate: float | None = Field(description="Share of resampled answers whose label differs from the original.")
    p_yes_samples: float | None = Field(description="Share of yes among yes/no samples.")
    p_yes_logprobs: float | None = Field(None, description="Mean P(yes) from logprobs, where available.")


def flip_summary(labels: Sequence[str], original: str | None, p_yes_values: Sequence[float | None] = ()) -> FlipSummary:
    counts = Counter(labels)
    k = len(labels)
    yn = counts.get("yes", 0) + counts.get("no", 0)
    lp = [p for p in p_yes_values if p is not None]
    return FlipSummary(
        k=k,
        original=original,
        counts=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        flip_rate=(sum(1 for lab in labels if lab != original) / k) if k and original is not None else None,
        p_yes_samples=(counts.get("yes", 0) / yn) if yn else None,
        p_yes_logprobs=(sum(lp) / len(lp)) if lp else None,
    )


class MassTest(BaseModel):
    """Huang et al. (2025): sum over candidates of P(yes | "Is it X?"), each in its own branch.

    Σ ≈ 1 is the committed signature only when one candidate carries it: an answerer that says
    No to everything (0.02 on each of 54 objects) also sums to about 1. So beside Σ: the top
    candidate's P(yes), the entropy of P(yes) normalised over candidates, and flags.
    """

    per_candidate: dict[str, float]
    total: float
    source: str = Field(description="'logprobs' or 'samples'.")
    k: int = Field(description="Samples per candidate (1 when read from logprobs).")
    top: str | None = None
    top_p_yes: float | None = Field(None, description="The largest P(yes) over candidates.")
    top_share: float | None = Field(None, description="The top candidate's share of Σ.")
    normalised_entropy_bits: float | None = Field(None, description="Entropy of P(yes)/Σ over candidates (bits).")
    normalised_entropy_ratio: float | None = Field(None, description="That entropy over log2(candidates): 1 = flat, 0 = one candidate.")
    no_to_everything: bool = Field(False, description="No candidate gets P(yes) >= 0.5: Σ says nothing about commitment.")
    yes_to_everything: bool = Field(False, description="Every candidate gets P(yes) >= 0.5.")
    p_other_mean: float | None = Field(None, description="Mean first-token mass off yes/no (logprobs only).")


def mass_total(per_candidate: dict[str, float]) -> float:
    return float(sum(per_candidate.values()))


def mass_test_summary(per_candidate: dict[str, float], *, source: str, k: int, p_other: Sequence[float] = ()) -> MassTest:
    total = mass_total(per_candidate)
    n = len(per_candidate)
    top = max(per_candidate, key=per_candidate.get) if per_candidate else None
    top_p = per_candidate[top] if top is not None else None
    h = entropy_bits(list(per_candidate.values())) if total > 0 else None
    return MassTest(
        per_candidate=per_candidate, total=total, source=source, k=k, top=top, top_p_yes=top_p,
        top_share=(top_p / total) if top_p is not None and total > 0 else None,
        normalised_entropy_bits=h,
        normalised_entropy_ratio=(h / math.log2(n)) if h is not None and n > 1 else None,
        no_to_everything=bool(per_candidate) and all(p < 0.5 for p in per_candidate.values()),
        yes_to_everything=bool(per_candidate) and all(p >= 0.5 for p in per_candidate.values()),
        p_other_mean=(sum(p_other) / len(p_other)) if p_other else None,
    )
