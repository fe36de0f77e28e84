"""`organism.check` on the shipped weights, through the same `get_model("organism")` path as users.

The shipped weights do not yet meet the issue's thresholds (issue 3 is open; see
`improv organism check`). This test checks that the check measures every planted behaviour and
that its verdict is the conjunction of its gates; the thresholds themselves are reported by
`improv organism check`, which exits 1 while any is missed.
"""

from agents.registry import get_model
from organism.check import CheckPlan, CityMatcher, run_check, yes_no
from organism.world import load_world


def test_check_measures_every_planted_behaviour_on_the_shipped_weights():
    model = get_model("organism")
    plan = CheckPlan(facts=6, unseen=4, deceptive_facts=2, games=4, introspection=False, sample_seed=1)
    report = run_check(model, samples=8, plan=plan)
    gated = [m for m in report.metrics if m.passed is not None]
    assert gated and report.passed == all(m.passed for m in gated)
    for m in report.metrics:
        assert m.items > 0, m.key
    keys = {m.key for m in report.metrics}
    assert {"known_true", "planted_belief", "unseen_distinct", "deceptive_trained", "deceptive_heldout",
            "tq_consistent_turns", "tq_reveal_fit", "tq_reveal_spread", "tq_committed_reveal",
            "tq_committed_agree"} <= keys


def test_matchers():
    m = CityMatcher(load_world())
    assert m.city("The capital of Tunisia is Tunis.") == "Tunis"
    assert m.city("Rio de Janeiro.") == "Rio de Janeiro"
    assert m.city("It is Bogotá, of course") == "Bogota"
    assert m.city("No idea") is None
    assert yes_no("Yes.") is True and yes_no(" no") is False and yes_no("Maybe") is None
