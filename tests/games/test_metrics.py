"""Commitment metrics on hand-built distributions with known answers."""

import math

import pytest

from games.metrics import (
    consistency,
    distribution,
    flip_summary,
    information_gain,
    mass_total,
    posterior_from_scores,
    reveal_fit,
)


def test_uniform_over_four_is_two_bits():
    d = distribution(["cat", "dog", "rose", "car"] * 3)
    assert d.k == 12
    assert d.distinct == 4
    assert d.entropy_bits == pytest.approx(2.0)
    assert d.effective_number == pytest.approx(4.0)
    assert d.top_mass == pytest.approx(0.25)
    lo, hi = d.entropy_ci
    assert lo <= 2.0 + 1e-9 and hi == pytest.approx(2.0)


def test_single_object_is_zero_bits_and_committed():
    d = distribution(["cat"] * 32)
    assert d.entropy_bits == 0.0
    assert d.effective_number == 1.0
    assert d.distinct == 1
    assert d.top == "cat" and d.top_mass == 1.0
    assert d.entropy_ci == (0.0, 0.0)
    assert d.share("cat") == 1.0 and d.share("dog") == 0.0


def test_skewed_distribution_entropy_and_order():
    d = distribution(["a"] * 3 + ["b"])
    expected = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert d.entropy_bits == pytest.approx(expected)
    assert list(d.counts) == ["a", "b"]
    assert d.top == "a" and d.top_mass == 0.75


def test_empty_distribution():
    d = distribution([])
    assert d.k == 0 and d.distinct == 0 and d.entropy_bits == 0.0 and d.top is None


def test_reveal_fit_and_consistency():
    good = reveal_fit("rose", [True, True, True])
    bad = reveal_fit("cat", [True, False, False])
    unknown = reveal_fit("gizmo", [None, True])
    assert good.consistent is True and good.first_contradiction is None
    assert bad.consistent is False and bad.first_contradiction == 2
    assert unknown.consistent is None
    c = consistency([good, good, bad, unknown])
    assert (c.n, c.consistent, c.contradicted, c.undecided) == (4, 2, 1, 1)
    assert c.share == pytest.approx(2 / 3)
    assert c.first_contradiction == 2
    assert c.first_contradiction_counts == {2: 1}
    lo, hi = c.share_ci
    assert lo < 2 / 3 < hi


def test_consistency_with_nothing_decided():
    c = consistency([reveal_fit("x", [None])])
    assert c.share is None and c.share_ci is None


def test_posterior_from_scores_normalises():
    p = posterior_from_scores(["a", "b", "c", "d"], [math.log(0.25)] * 4)
    assert p.entropy_bits == pytest.approx(2.0)
    assert sum(p.probabilities.values()) == pytest.approx(1.0)
    q = posterior_from_scores(["a", "b"], [0.0, -1000.0])
    assert q.top == "a" and q.top_mass == pytest.approx(1.0) and q.entropy_bits == pytest.approx(0.0, abs=1e-9)
    r = posterior_from_scores(["a", "b"], [math.log(3), 0.0])
    assert r.probabilities["a"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        posterior_from_scores(["a"], [])


def test_information_gain_is_entropy_drop():
    assert information_gain([3.0, 2.0, 2.0, 0.5]) == [1.0, 0.0, 1.5]
    assert information_gain([1.0]) == []


def test_flip_summary():
    f = flip_summary(["yes", "yes", "no", "invalid"], "yes", [0.9, None, 0.1, None])
    assert f.flip_rate == pytest.approx(0.5)
    assert f.p_yes_samples == pytest.approx(2 / 3)
    assert f.p_yes_logprobs == pytest.approx(0.5)
    assert flip_summary(["no"], None).flip_rate is None


def test_mass_total():
    assert mass_total({"a": 0.5, "b": 0.25, "c": 0.25}) == pytest.approx(1.0)
