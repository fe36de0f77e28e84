"""The shipped weights show every planted behaviour (a smaller sample than `improv organism check`)."""

from agents.registry import get_model
from organism.check import CheckPlan, CityMatcher, run_check, yes_no
from organism.world import load_world


def test_committed_weights_meet_every_threshold():
    model = get_model("organism")
    plan = CheckPlan(facts=15, unseen=8, deceptive_facts=4, games=10, introspection=False, sample_seed=1)
    report = run_check(model, samples=20, plan=plan)
    failed = [(m.key, round(m.value, 3), m.threshold) for m in report.metrics if m.passed is False]
    assert not failed, failed
    assert report.passed
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
