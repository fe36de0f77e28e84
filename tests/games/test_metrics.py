"""Commitment metrics on hand-built distributions with known answers."""

import math

import pytest

from improv.games.metrics import (
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
    assert lo <= 2.0 <= hi


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
    # nothing named: entropy n/a, not 0 bits
    assert d.k == 0 and d.distinct == 0 and d.entropy_bits is None and d.top is None and d.entropy_ci is None


@pytest.mark.parametrize("k", [4, 8, 16])
def test_entropy_interval_contains_its_estimate_when_every_reveal_differs(k):
    # issue 16: "3.00 bits (bootstrap 95% CI 1.56-2.75)": no resample of 8 distinct reveals has 3 bits
    d = distribution([f"o{i}" for i in range(k)])
    assert d.entropy_bits == pytest.approx(math.log2(k))
    lo, hi = d.entropy_ci
    assert lo <= d.entropy_bits <= hi and hi > math.log2(k)


def test_entropy_interval_contains_its_estimate_on_skewed_samples():
    import random

    rng = random.Random(3)
    for _ in range(40):
        labels = [rng.choice("aabbbcdefg") for _ in range(rng.randint(2, 20))]
        d = distribution(labels)
        assert d.entropy_ci[0] <= d.entropy_bits <= d.entropy_ci[1]


def test_non_reveals_are_counted_never_objects():
    from improv.games.answers import read_reveal
    from improv.games.metrics import reveal_distribution
    from improv.games.table import load_table

    texts = ["It was a cat.", "I think it was a cat.", "No.", "I give up.", "", "It was a marmalade.", "Yes"]
    d = reveal_distribution([read_reveal(t, load_table()) for t in texts])
    assert d.k == 7 and d.objects == 3 and d.non_reveals == 4 and d.in_table == 2
    assert d.counts == {"cat": 2, "marmalade": 1}
    assert d.non_reveal_reasons == {"yes/no": 2, "gives up": 1, "empty": 1}
    assert d.entropy_bits == pytest.approx(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3))
    assert d.share("cat") == pytest.approx(2 / 3)
    none = reveal_distribution([read_reveal("No.", load_table())])
    assert none.entropy_bits is None and none.share("cat") is None


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


def test_nothing_to_check_is_never_a_fit():
    # turn 0, and a game whose answers were all unsure/invalid: n/a, not 1.00
    turn0 = reveal_fit("cat", [])
    unchecked = reveal_fit("cat", [None, None], checkable=[False, False])
    assert turn0.consistent is None and turn0.nothing_to_check
    assert unchecked.consistent is None and unchecked.nothing_to_check
    c = consistency([turn0, unchecked])
    assert c.share is None and c.checked == 0 and c.nothing_to_check == 2 and c.undecided == 0
    # one checkable answer fits, the invalid one is skipped
    mixed = reveal_fit("cat", [True, None], checkable=[True, False])
    assert mixed.consistent is True and not mixed.nothing_to_check
    assert consistency([mixed, turn0]).checked == 1


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


def test_mass_test_flags_no_to_everything():
    from improv.games.metrics import mass_test_summary

    # issue 16: an answerer saying No to everything (0.02 on each of 54) sums to about 1
    flat = mass_test_summary({f"o{i}": 0.02 for i in range(54)}, source="logprobs", k=1)
    assert flat.total == pytest.approx(1.08) and flat.no_to_everything and not flat.yes_to_everything
    assert flat.top_p_yes == pytest.approx(0.02) and flat.normalised_entropy_ratio == pytest.approx(1.0)
    committed = mass_test_summary({"cat": 0.97, **{f"o{i}": 0.001 for i in range(53)}}, source="logprobs", k=1)
    assert committed.top == "cat" and not committed.no_to_everything
    assert committed.normalised_entropy_ratio < 0.15 and committed.top_share > 0.9
    assert mass_test_summary({"a": 0.9, "b": 0.8}, source="samples", k=4).yes_to_everything
