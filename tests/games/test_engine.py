"""The game engine, analysis and batch on mock models; consistency on hand-built games."""

import pytest

from improv.agents.errors import CapabilityError, ConfigError
from improv.agents.registry import get_model
from improv.games.analysis import analyse_node, answer_flips, check_reveals, exact_posterior, mass_test, remaining, resample_reveal
from improv.games.batch import run_batch, save_batch
from improv.games.engine import (
    GIVE_UP,
    QA,
    CallbackQuestioner,
    ModelQuestioner,
    ScriptQuestioner,
    load_script,
    main_line,
    pick_secret,
    play_game,
)
from improv.games.fit import FitChecker
from improv.games.table import load_table
from improv.transcripts.store import load, save

QUESTIONS = ["Is it alive?", "Is it an animal?", "Does it have fur?"]


async def test_play_game_builds_a_tree_with_labels():
    model = get_model("mock/cycle:Yes.|No.|Maybe.")
    t = await play_game(model, ScriptQuestioner(QUESTIONS), turns=10)
    assert t.kind == "twentyq"
    assert t.meta["condition"] == "uncommitted" and t.meta["secret"] is None
    kinds = [(x.role, x.meta.get("kind"), x.meta.get("label")) for x in t.path(t.meta["main_leaf"])]
    assert kinds[:6] == [("user", "question", None), ("assistant", "answer", "yes"),
                         ("user", "question", None), ("assistant", "answer", "no"),
                         ("user", "question", None), ("assistant", "answer", "unsure")]
    assert kinds[6][1] == "question" and t.path(t.meta["main_leaf"])[6].content == GIVE_UP
    assert kinds[7][1] == "reveal"
    # no secret anywhere in the uncommitted context
    assert all("secret" not in (x.system_prompt or "").lower() for x in t.turns if x.role == "assistant")
    qas = main_line(t)
    assert [q.label for q in qas] == ["yes", "no", "unsure"]
    assert qas[0].attribute == "alive"


async def test_committed_game_has_secret_in_system_prompt():
    t = await play_game(get_model("mock/fixed:No."), ScriptQuestioner(QUESTIONS[:1]), secret="cat", turns=3)
    assert t.meta["condition"] == "committed" and t.meta["secret"] == "cat"
    answer = [x for x in t.turns if x.meta.get("kind") == "answer"][0]
    assert "cat" in answer.system_prompt
    assert "twentyq-secret" in t.personas


async def test_game_stops_when_questioner_stops_and_at_turn_limit():
    t = await play_game(get_model("mock/fixed:Yes."), ScriptQuestioner(QUESTIONS * 5), turns=4, reveal=False)
    assert len(main_line(t)) == 4
    asked = []

    def human(history):
        asked.append(len(history))
        return "Is it alive?" if len(history) < 2 else ""

    t2 = await play_game(get_model("mock/fixed:Yes."), CallbackQuestioner(human), turns=20)
    assert len(main_line(t2)) == 2 and asked == [0, 1, 2]


async def test_model_questioner_takes_the_first_question_line():
    q = ModelQuestioner(get_model("mock/fixed:Sure! Is it alive? I think so."))
    assert await q.ask([]) == "Sure! Is it alive?"
    seen = []
    model = get_model("mock/fixed:Is it big?")
    original = model.backend.generate

    async def record(messages, config):
        seen.append(messages)
        return await original(messages, config)

    model.backend.generate = record
    asked = await ModelQuestioner(model).ask([QA(number=1, question="Is it alive?", answer="Yes.", label="yes")])
    assert asked == "Is it big?"
    assert seen[0][0].role == "system" and "1. Is it alive? - Yes." in seen[0][1].content


async def test_resample_reveal_is_one_n_k_call_and_siblings(monkeypatch):
    model = get_model("mock/fixed:Yes.")
    t = await play_game(model, ScriptQuestioner(QUESTIONS), turns=3)
    reveal_model = get_model("mock/cycle:It was a rose.|It was a cat.|It was a tree.|Roses")
    calls = []
    original = reveal_model.backend.generate

    async def counting(messages, config):
        calls.append(config.n)
        return await original(messages, config)

    monkeypatch.setattr(reveal_model.backend, "generate", counting)
    before = len(t.turns)
    s = await resample_reveal(t, reveal_model, at=1, k=8)
    assert calls == [8]
    assert s.objects.count("rose") == 4 and s.distribution.distinct == 3
    assert len(t.turns) == before + 1 + 8  # one give-up turn, eight sibling reveals
    siblings = t.siblings(s.turn_ids[0])
    assert len(siblings) == 8 and all(x.meta["kind"] == "reveal" for x in siblings)
    # a second resample at the same node reuses the give-up turn
    await resample_reveal(t, reveal_model, at=1, k=2)
    assert len(t.turns) == before + 1 + 10
    assert t.active == t.meta["main_leaf"]  # branches never become the active line


async def test_consistency_on_a_hand_built_game():
    table = load_table()
    qas = [QA(number=1, question="Is it alive?", answer="Yes.", label="yes"),
           QA(number=2, question="Is it an animal?", answer="No.", label="no"),
           QA(number=3, question="Is it a cat?", answer="No.", label="no")]
    checker = FitChecker(table)
    fits, cons = await check_reveals(["rose", "rose", "cat", "car", "flux capacitor"], qas, checker)
    by = {f.object: f for f in fits}
    assert by["rose"].consistent is True
    assert by["cat"].first_contradiction == 2 and by["cat"].fits == [True, False, False]
    assert by["car"].first_contradiction == 1
    assert by["flux capacitor"].consistent is None  # not in the table, no judge
    assert (cons.consistent, cons.contradicted, cons.undecided) == (2, 2, 1)
    assert cons.share == pytest.approx(0.5) and cons.first_contradiction == 1
    left = remaining(table, qas)
    assert "rose" in left and "cat" not in left and "car" not in left


async def test_judge_decides_pairs_outside_the_table_one_at_a_time():
    table = load_table()
    judge = get_model("mock/fixed:Yes.")
    seen = []
    original = judge.backend.generate

    async def record(messages, config):
        seen.append((messages, config))
        return await original(messages, config)

    judge.backend.generate = record
    checker = FitChecker(table, judge)
    qas = [QA(number=1, question="Is it alive?", answer="Yes.", label="yes"),
           QA(number=2, question="Does it glow in the dark?", answer="No.", label="no")]
    fits, cons = await check_reveals(["flux capacitor", "flux capacitor", "rose"], qas, checker)
    assert fits[0].fits == [True, False]  # judge says yes to both; the game said no to Q2
    assert fits[2].fits == [True, False]  # rose in table, but Q2 is not a table question -> judge
    assert checker.judge_calls == 3  # (flux, Q1), (flux, Q2), (rose, Q2): cached per pair
    # stateless: one user message naming one object and one question, temperature 0
    for messages, config in seen:
        assert len(messages) == 1 and messages[0].role == "user" and config.temperature == 0.0
    assert any("flux capacitor" in m[0].content and "glow" in m[0].content for m, _ in seen)
    assert not any("Is it alive?" in m[0].content and "glow" in m[0].content for m, _ in seen)
    assert cons.contradicted == 3


async def test_unsure_and_invalid_answers_constrain_nothing():
    checker = FitChecker(load_table())
    # not checkable, never counted as a fit
    assert await checker.fits("cat", "Is it a plant?", "unsure") is None
    assert await checker.fits("cat", "Is it a plant?", "invalid") is None
    assert await checker.fits("cat", "Is it a plant?", "yes") is False
    assert await checker.fits("cat", "Is it a cat?", "yes") is True
    assert await checker.fits("dog", "Is it a cat?", "yes") is False


async def test_analyse_node_committed_secret_share():
    t = await play_game(get_model("mock/fixed:Yes."), ScriptQuestioner(QUESTIONS[:2]), secret="cat", turns=2)
    node = await analyse_node(t, get_model("mock/cycle:It was a cat.|It was a cat.|It was a cat.|It was a dog."), k=8)
    assert node.secret_share == pytest.approx(0.75)
    assert node.sample.distribution.top == "cat"
    assert node.fits["cat"].consistent is True  # alive yes, animal yes


async def test_mass_test_and_flips_from_samples():
    t = await play_game(get_model("mock/fixed:Yes."), ScriptQuestioner(QUESTIONS), turns=3)
    mt = await mass_test(t, get_model("mock/cycle:Yes.|No."), candidates=["cat", "dog", "rose"], k=4)
    assert mt.source == "samples" and mt.k == 4
    assert mt.total == pytest.approx(1.5)
    probes = [x for x in t.turns if x.meta.get("probe") == "mass" and x.role == "user"]
    # the answer format is appended as in the game
    assert sorted(p.content for p in probes) == [f"Is it a {o}? Answer Yes or No." for o in ("cat", "dog", "rose")]
    assert mt.top_p_yes == pytest.approx(0.5) and not mt.no_to_everything
    f = await answer_flips(t, get_model("mock/cycle:Yes.|No.|Yes.|No."), question=2, k=4)
    assert f.flip_rate == pytest.approx(0.5) and f.original == "yes"
    with pytest.raises(ConfigError):
        await answer_flips(t, get_model("mock/fixed:Yes."), question=9)


async def test_exact_posterior_refused_without_score():
    t = await play_game(get_model("mock/fixed:Yes."), ScriptQuestioner(QUESTIONS[:1]), turns=1)
    with pytest.raises(CapabilityError):
        await exact_posterior(t, get_model("mock/fixed:Yes."))


async def test_bad_node_is_a_config_error():
    t = await play_game(get_model("mock/fixed:Yes."), ScriptQuestioner(QUESTIONS[:1]), turns=1)
    with pytest.raises(ConfigError):
        await resample_reveal(t, get_model("mock/fixed:It was a cat."), at=5, k=2)


async def test_batch_summary_per_condition_and_turn(tmp_path):
    progress = []
    result = await run_batch(get_model("mock/fixed:It was a cat."), games=3, turns=2, k=4, questions=QUESTIONS,
                             progress=lambda d, n, c: progress.append((d, n)))
    assert progress[-1] == (6, 6)
    s = result.summary
    assert set(s.conditions) == {"uncommitted", "committed"}
    unc = s.conditions["uncommitted"]
    assert [r.at for r in unc.turns] == [0, 1, 2]
    assert all(r.entropy_mean == 0.0 and r.distinct_mean == 1.0 for r in unc.turns)
    # answers "It was a cat." are invalid -> nothing to check: n/a, never 1.00
    assert unc.turns[2].consistency_share is None and unc.turns[2].consistency.n == 0
    assert unc.turns[2].nothing_to_check == 3 * 4
    assert unc.turns[1].invalid.value == 1.0 and unc.turns[1].invalid.n == 3 and unc.turns[0].invalid is None
    assert unc.invalid.n == 6 and unc.in_table.value == 1.0 and unc.non_reveals.value == 0.0
    assert s.answers == "text" and any("no logprobs" in note for note in s.notes)
    assert s.conditions["committed"].turns[0].secret_share is not None
    path = save_batch(result, tmp_path)
    assert path.is_file() and len(list((tmp_path / "transcripts").glob("*.json"))) == 6
    t = load(next((tmp_path / "transcripts").glob("*.json")))
    assert t.kind == "twentyq" and len(main_line(t)) == 2


def test_script_loading(tmp_path):
    txt = tmp_path / "q.txt"
    txt.write_text("# comment\nIs it alive?\n\nIs it big?\n")
    assert load_script(txt) == ["Is it alive?", "Is it big?"]
    y = tmp_path / "q.yaml"
    y.write_text("questions:\n  - Is it alive?\n  - Is it red?\n")
    assert load_script(y) == ["Is it alive?", "Is it red?"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions: [1, 2]\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_script(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("questions: [\n")
    with pytest.raises(ConfigError, match="line"):
        load_script(broken)
    with pytest.raises(ConfigError):
        load_script(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n# only a comment\n")
    with pytest.raises(ConfigError, match="no questions"):
        load_script(empty)


def test_pick_secret():
    table = load_table()
    assert pick_secret(None, table) is None
    assert pick_secret("Cats", table) == "cat"
    assert pick_secret("random", table) in table.objects


async def test_saved_game_resamples_after_reload(tmp_path):
    t = await play_game(get_model("mock/fixed:No."), ScriptQuestioner(QUESTIONS[:2]), secret="rose", turns=2)
    path = save(t, tmp_path)
    t2 = load(path)
    node = await analyse_node(t2, get_model("mock/fixed:It was a rose."), at=2, k=3)
    # rose: alive (answered No) -> contradicted at Q1
    assert node.fits["rose"].first_contradiction == 1
    assert node.secret == "rose" and node.secret_share == 1.0


class _LogprobBackend:
    """A server that echoes the question then answers, with first-token top logprobs (as
    SmolLM2 does through llama.cpp): the label must come from the distribution, not the text."""

    def __init__(self, first: dict[str, float], text: str = "Is it alive?\nNo.") -> None:
        import math

        from improv.agents.backend import Backend
        from improv.agents.types import Capabilities, Choice, Completion, TokenLogprob, TopLogprob

        class B(Backend):
            name = "fake/logprobs"
            capabilities = Capabilities(logprobs=True, native_n=True)

            async def generate(self, messages, config):
                self.seen = getattr(self, "seen", []) + [config]
                alts = [TopLogprob(token=t, logprob=math.log(p)) for t, p in first.items()]
                lp = [TokenLogprob(token=alts[0].token, logprob=alts[0].logprob, top_logprobs=alts)]
                return Completion(model=self.name, choices=[Choice(text=text, finish_reason="stop", logprobs=lp)
                                                            for _ in range(config.n)])

        self.backend = B()


async def test_answers_are_drawn_from_the_first_token_distribution():
    import random

    from improv.agents.model import Model

    fake = _LogprobBackend({"Is": 0.5, "Yes": 0.4, "No": 0.1})
    model = Model(fake.backend)
    t = await play_game(model, ScriptQuestioner(QUESTIONS * 20), turns=60, reveal=False, rng=random.Random(0))
    answers = [x for x in t.turns if x.meta.get("kind") == "answer"]
    assert fake.backend.seen[0].logprobs and fake.backend.seen[0].top_logprobs == 20
    assert {a.meta["source"] for a in answers} == {"logprobs"} and {a.content for a in answers} <= {"Yes.", "No."}
    # the text parse would have said "no" every time; the model's own P(yes | yes or no) is 0.8
    assert {a.meta["text_label"] for a in answers} == {"no"} and answers[0].meta["sampled_text"] == "Is it alive?\nNo."
    share = sum(a.meta["label"] == "yes" for a in answers) / len(answers)
    assert 0.6 < share < 0.95
    d = answers[0].meta["answer_dist"]
    assert d["p_yes"] == pytest.approx(0.4) and d["p_no"] == pytest.approx(0.1) and d["p_other"] == pytest.approx(0.5)
    qas = main_line(t)
    assert qas[0].source == "logprobs" and qas[0].p_other == pytest.approx(0.5) and qas[0].p_yes == pytest.approx(0.8)
    # the history sent on holds the drawn answer and the question as sent
    assert qas[0].prompt == "Is it alive? Answer Yes or No."


async def test_no_answer_mass_falls_back_to_the_text_and_is_counted():
    from improv.agents.model import Model

    model = Model(_LogprobBackend({"The": 0.9, "A": 0.1}, text="The first question. No, it can't.").backend)
    t = await play_game(model, ScriptQuestioner(QUESTIONS[:1]), turns=1, reveal=False)
    answer = next(x for x in t.turns if x.meta.get("kind") == "answer")
    assert answer.meta["source"] == "text" and answer.meta["label"] == "invalid"
    assert answer.content == "The first question. No, it can't."


async def test_mass_test_from_logprobs_flags_no_to_everything():
    from improv.agents.model import Model

    t = await play_game(get_model("mock/fixed:Yes."), ScriptQuestioner(QUESTIONS[:1]), turns=1)
    model = Model(_LogprobBackend({"No": 0.97, "Yes": 0.02}, text="No.").backend)
    mt = await mass_test(t, model, candidates=load_table().objects)
    assert mt.source == "logprobs" and mt.total == pytest.approx(54 * 0.02 / 0.99)
    assert mt.no_to_everything and mt.p_other_mean == pytest.approx(0.01)


def test_the_built_in_model_gets_bare_questions():
    from improv.games.engine import ANSWER_FORMAT, default_answer_format

    assert default_answer_format(get_model("organism")) is None
    assert default_answer_format(get_model("mock/echo")) == ANSWER_FORMAT


async def test_headline_figures_for_a_real_model_yardstick():
    from improv.games.batch import headline

    model = get_model("mock/cycle:No.|It was a cat.|I give up.|It was a marmalade.|Yes.")
    result = await run_batch(model, games=2, turns=1, k=5, questions=QUESTIONS)
    h = headline(result.summary, result.games)
    nodes = [n for g in result.games for n in g.nodes]
    k = sum(n.k for n in nodes)
    assert h.readable_reveals.n == k and h.non_reveals.n == k
    assert h.readable_reveals.count == sum(n.in_table + n.non_reveals for n in nodes)
    # marmalade is an object outside the table: neither readable-as-known nor a non-reveal
    assert h.readable_reveals.count < k and h.in_table.value < 1.0
    assert h.answers == "text" and h.invalid.n == 4
    assert [r.at for r in h.contrast] == [0, 1] and h.contrast[0].committed_exact_secret_mass is None
