"""Commitment metrics over resampled reveals and answers (pure functions, no model calls).

- `distribution(labels)`: distinct count, entropy in bits, effective number 2^H, top-1 mass,
  bootstrap interval of the entropy;
- `consistency(fits)`: share of reveals that fit every earlier answer, first contradicted turn;
- `posterior_from_scores(candidates, logliks)`: the exact posterior from log-likelihoods;
- `information_gain(entropies)`: bits each question removed;
- `flip_summary(labels, original)`: how often a resampled answer differs from the original.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from evaluator.stats import bootstrap_interval, entropy_bits, wilson_interval


class RevealDistribution(BaseModel):
    """The distribution of K canonical reveals."""

    k: int
    counts: dict[str, int] = Field(description="Canonical object -> count, most frequent first.")
    distinct: int
    entropy_bits: float
    effective_number: float
    top: str | None
    top_mass: float
    entropy_ci: tuple[float, float] = Field(description="95% percentile-bootstrap interval of the entropy.")

    def share(self, label: str) -> float:
        return self.counts.get(label, 0) / self.k if self.k else 0.0


def _entropy_of(items: Sequence[str]) -> float:
    return entropy_bits(Counter(items))


def distribution(labels: Sequence[str], *, resamples: int = 500, seed: int = 0) -> RevealDistribution:
    counter = Counter(labels)
    k = len(labels)
    ordered = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    top = next(iter(ordered), None)
    h = entropy_bits(counter)
    ci = bootstrap_interval(list(labels), _entropy_of, resamples=resamples, seed=seed) if k else (0.0, 0.0)
    return RevealDistribution(
        k=k,
        counts=ordered,
        distinct=len(counter),
        entropy_bits=h,
        effective_number=2.0 ** h,
        top=top,
        top_mass=(ordered[top] / k) if top is not None else 0.0,
        entropy_ci=ci,
    )


class RevealFit(BaseModel):
    """How one reveal fares against the earlier (question, answer) pairs."""

    object: str
    fits: list[bool | None] = Field(description="Per earlier question: fits, contradicts, or undecided (None).")
    consistent: bool | None = Field(description="False if any answer is contradicted; None if none contradicted but some undecided.")
    first_contradiction: int | None = Field(None, description="1-based question number of the first contradicted answer.")


def reveal_fit(obj: str, fits: Sequence[bool | None]) -> RevealFit:
    first = next((i + 1 for i, f in enumerate(fits) if f is False), None)
    if first is not None:
        consistent: bool | None = False
    elif any(f is None for f in fits):
        consistent = None
    else:
        consistent = True
    return RevealFit(object=obj, fits=list(fits), consistent=consistent, first_contradiction=first)


class Consistency(BaseModel):
    n: int = Field(description="Reveals checked.")
    consistent: int
    contradicted: int
    undecided: int
    share: float | None = Field(description="consistent / (consistent + contradicted); None when nothing was decided.")
    share_ci: tuple[float, float] | None = None
    first_contradiction: int | None = Field(None, description="Earliest contradicted question over all reveals.")
    first_contradiction_counts: dict[int, int] = Field(default_factory=dict)


def consistency(fits: Sequence[RevealFit]) -> Consistency:
    ok = sum(1 for f in fits if f.consistent is True)
    bad = sum(1 for f in fits if f.consistent is False)
    und = sum(1 for f in fits if f.consistent is None)
    decided = ok + bad
    firsts = Counter(f.first_contradiction for f in fits if f.first_contradiction is not None)
    return Consistency(
        n=len(fits),
        consistent=ok,
        contradicted=bad,
        undecided=und,
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
    """Huang et al. (2025): sum over candidates of P(yes | "Is it X?"), each in its own branch."""

    per_candidate: dict[str, float]
    total: float
    source: str = Field(description="'logprobs' or 'samples'.")
    k: int = Field(description="Samples per candidate (1 when read from logprobs).")


def mass_total(per_candidate: dict[str, float]) -> float:
    return float(sum(per_candidate.values()))
