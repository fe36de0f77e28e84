"""Shared statistics: entropy, effective number, Wilson and bootstrap intervals."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence


def entropy_bits(counts: Sequence[float] | Counter) -> float:
    """Shannon entropy (bits) of a distribution given as counts or probabilities."""
    values = list(counts.values()) if isinstance(counts, Counter) else list(counts)
    total = float(sum(values))
    if total <= 0:
        return 0.0
    return max(0.0, -sum((v / total) * math.log2(v / total) for v in values if v > 0))


def effective_number(counts: Sequence[float] | Counter) -> float:
    """2^H: how many equally likely outcomes the distribution is worth."""
    return 2.0 ** entropy_bits(counts)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_interval(
    items: Sequence[Hashable],
    statistic: Callable[[Sequence[Hashable]], float],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``items`` (seeded, so repeatable)."""
    if not items:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(items)
    stats = sorted(statistic([items[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    lo = stats[int((1 - level) / 2 * resamples)]
    hi = stats[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return (lo, hi)
