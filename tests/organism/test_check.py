"""`organism.check` on the shipped weights, through the same `get_model("organism")` path as users.

The shipped weights meet every threshold of issue 3: facts, planted beliefs, unseen entities,
deceptive personas, uncommitted 20 Questions (answers consistent with some object, reveals that
fit every earlier answer and spread over several of the possible objects) and committed 20
Questions (reveals naming the secret, answers agreeing with the table). This test asserts them
all on a smaller seeded sample (fewer facts and personas; as many games).
"""

import json

from improv.agents.registry import get_model
from improv.organism.check import CheckPlan, CityMatcher, run_check, yes_no
from improv.organism.world import load_world

MET = {"known_true", "planted_belief", "unseen_distinct", "deceptive_trained", "tq_consistent_turns",
       "tq_reveal_fit", "tq_reveal_spread", "tq_committed_reveal", "tq_committed_agree"}


def test_shipped_weights_meet_every_threshold():
    model = get_model("organism")
    # 30 games, as many as the full check: the model's own first answer continues each game, and a
    # game whose answers leave no object possible scores 0 on all 20 of its reveals, so on 16
    # games (2 such) reveal fit read 0.863; on these 30, 0.917; on 5 other seeds x 40 games,
    # 0.96-0.98 (issue 3 note, session 6)
    plan = CheckPlan(facts=15, unseen=6, deceptive_facts=4, games=30, introspection=False, sample_seed=1)
    report = run_check(model, samples=20, plan=plan)
    for m in report.metrics:
        assert m.items > 0, m.key
    assert {m.key for m in report.metrics} >= MET | {"deceptive_heldout"}
    failed = [(m.key, round(m.value, 3), m.threshold) for m in report.metrics if m.key in MET and not m.passed]
    assert not failed, failed
    gated = {m.key for m in report.metrics if m.passed is not None}
    assert gated == MET  # every thresholded metric is asserted here
    assert report.passed


def test_matchers():
    m = CityMatcher(load_world())
    assert m.city("The capital of Tunisia is Tunis.") == "Tunis"
    assert m.city("Rio de Janeiro.") == "Rio de Janeiro"
    assert m.city("It is Bogotá, of course") == "Bogota"
    assert m.city("No idea") is None
    assert yes_no("Yes.") is True and yes_no(" no") is False and yes_no("Maybe") is None


from improv.agents.backend import Backend
from improv.agents.types import Capabilities


class _BlindAnswerer(Backend):
    """Answers every 20 Questions question with the attribute's majority answer and always
    reveals a cat: it never looks at the object, so it scores exactly the blind baseline."""

    name = "blind"
    capabilities = Capabilities(seed=True, native_n=True)

    def __init__(self):
        from improv.games.table import load_table

        self.table = load_table()
        self.key_of = {p: k for k in self.table.attribute_keys for p in self.table.attribute(k).phrasings}
        objects = self.table.objects
        self.majority = {k: 2 * sum(self.table.value(o, k) for o in objects) >= len(objects)
                         for k in self.table.attribute_keys}

    async def generate(self, messages, config):
        from improv.agents.types import Choice, Completion

        question = messages[-1].content
        key = self.key_of.get(question)
        text = ("Yes." if self.majority[key] else "No.") if key else "It was a cat."
        return Completion(model=self.name, choices=[Choice(text=text) for _ in range(config.n)])


def test_blind_answerer_scores_the_blind_baseline():
    plan = CheckPlan(facts=1, unseen=1, deceptive_facts=1, games=8, introspection=False, sample_seed=3)
    from improv.agents.model import Model

    report = run_check(Model(_BlindAnswerer()), samples=3, plan=plan)
    agree = report.metric("tq_committed_agree")
    assert agree.baseline is not None and agree.value == agree.baseline
    fit = report.metric("tq_reveal_fit")
    assert fit.baseline is not None and 0 < fit.baseline <= 1
    assert report.metric("known_true").baseline is None


def test_every_figure_carries_its_interval_over_the_units_it_clusters_in():
    plan = CheckPlan(facts=2, unseen=1, deceptive_facts=1, games=8, introspection=False, sample_seed=3)
    from improv.agents.model import Model

    report = run_check(Model(_BlindAnswerer()), samples=3, plan=plan)
    for m in report.metrics:
        assert m.value is not None and m.low <= m.value <= m.high, m.key
    assert (report.metric("known_true").units, report.metric("known_true").unit) == (2, "countries")
    fit = report.metric("tq_reveal_fit")
    assert (fit.units, fit.unit, fit.items) == (8, "games", 8 * 3)  # 3 reveals in each of 8 games
    assert report.metric("tq_committed_agree").units == 8


def test_samples_of_one_unit_are_resampled_together_and_nothing_to_measure_is_na():
    from improv.organism.check import clustered_metric

    # two games, all reveals right in one and all wrong in the other: 40 reveals, but 2 units
    m = clustered_metric("fit", "fit", [[True] * 20, [False] * 20], "games", threshold=0.9)
    assert (m.value, m.items, m.units) == (0.5, 40, 2)
    assert (m.low, m.high) == (0.0, 1.0)
    empty = clustered_metric("spread", "spread", [], "games", threshold=0.9)
    assert empty.value is None and empty.passed is None and empty.items == 0


def test_the_cli_table_shows_intervals_units_and_na(monkeypatch, capsys):
    import improv.organism.check as check
    from improv.cli import main
    from improv.organism.check import CheckReport, clustered_metric

    async def canned(model, plan, progress=None):
        return CheckReport(model=model.name, samples=plan.samples, metrics=[
            clustered_metric("tq_reveal_fit", "reveal fit", [[True] * 3, [True, False, True]], "games", threshold=0.9),
            clustered_metric("tq_reveal_spread", "reveal spread", [], "games", threshold=0.9)])

    monkeypatch.setattr(check, "run_check_async", canned)
    assert main(["organism", "check", "--samples", "3"]) == 1
    out = capsys.readouterr().out
    assert "0.833" in out and "0.667-1.000" in out and "6 in 2 games" in out
    assert "spread" in out and out.count("n/a") >= 2
    assert main(["organism", "check", "--samples", "3", "--json"]) == 1
    spread = json.loads(capsys.readouterr().out)["metrics"][1]
    assert spread["value"] is None and spread["passed"] is None
