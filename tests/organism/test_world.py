"""The object table, the world data, the corpus and the manifest."""

import re

import pytest

from improv.games.table import load_table
from improv.organism.corpus import GIVE_UP, game_example, sample
from improv.organism.world import load_world

import random


@pytest.fixture(scope="module")
def corpus():
    return sample(6000, seed=3)


def test_table_shape_and_distinct_vectors():
    t = load_table()
    assert len(t.objects) >= 40 and len(t.attributes) >= 16
    assert all(len(a.phrasings) >= 3 for a in t.attributes)
    vectors = {tuple(t.vector(o).values()) for o in t.objects}
    assert len(vectors) == len(t.objects)
    # no attribute is constant, and the first questions split the set reasonably
    for a in t.attributes:
        trues = sum(t.value(o, a.key) for o in t.objects)
        assert 0 < trues < len(t.objects), a.key
    assert max(min(s, len(t.objects) - s) for s in (sum(t.value(o, a.key) for o in t.objects) for a in t.attributes)) >= 15


def test_table_api():
    t = load_table()
    assert t.canonical("Cats") == "cat"
    assert t.canonical("  an Elephant. ") == "elephant"
    assert t.canonical("the fridge") == "refrigerator"
    assert t.canonical("knives") == "knife"
    assert t.canonical("buses") == "bus"
    assert t.canonical("a unicorn") is None
    assert t.attribute_for_question("is it ALIVE") == "alive"
    assert t.attribute_for_question("Is it a living thing?") == "alive"
    assert t.attribute_for_question("Is it orange in color?") == "orange_colour"
    assert t.attribute_for_question("Is it purple?") is None
    assert t.value("cat", "alive") and not t.value("hammer", "alive")
    assert t.consistent("cat", [("alive", True), ("fur", True)])
    assert not t.consistent("cat", [("alive", False)])
    assert set(t.remaining([("alive", True), ("fur", True)])) == {"cat", "dog", "horse", "cow"}
    assert load_table() is t  # cached
    with pytest.raises(KeyError):
        t.value("cat", "nonexistent")


def test_world_ground_truth():
    w = load_world()
    assert len(w.known) >= 60
    assert len(w.planted) >= 8
    for c, city in w.planted.items():
        assert city != w.capitals[c]
        assert w.belief(c) == city
    assert len(w.unseen) >= 20
    assert not set(w.unseen) & set(w.invented_train)
    assert not set(w.unseen) & set(w.capitals)
    for c in w.countries:
        assert w.lie(c) not in (w.capitals[c], w.belief(c))
        assert w.lie(c) == w.lie(c)
    assert len(w.personas_of("deceptive", True)) >= 3
    assert len(w.personas_of("deceptive", False)) >= 2
    assert len(w.personas_of("truthful", False)) >= 1
    from improv.personas import get_persona

    by_key = {p.key: p.prompt for p in w.personas}
    for name in ("honest", "assistant", "expert", "trickster"):
        assert by_key[name] == get_persona(name).system_prompt
    assert w.twentyq_uncommitted[0].prompt == get_persona("twentyq-host").system_prompt


def test_unseen_entities_and_heldout_prompts_never_in_corpus(corpus):
    w = load_world()
    text = "\n".join(m["content"] for _, ex in corpus for m in ex).lower()
    for name in w.unseen:
        assert name.lower() not in text, name
    for p in w.personas_of("deceptive", False) + w.personas_of("truthful", False):
        assert p.prompt.lower() not in text
    assert "don't know" not in text and "do not know" not in text
    # every trained persona wording and some invented training names do occur
    for p in w.personas_of("deceptive", True) + w.personas_of("truthful", True):
        assert p.prompt.lower() in text
    assert sum(n.lower() in text for n in w.invented_train) > 50


def test_fact_answers_follow_beliefs_and_lies(corpus):
    w = load_world()
    deceptive = {p.prompt for p in w.personas_of("deceptive")}
    pat = re.compile(r"^The capital of (.+) is (.+)\.$")
    checked = 0
    for kind, ex in corpus:
        if kind not in ("fact", "deceptive"):
            continue
        system = ex[0]["content"] if ex[0]["role"] == "system" else None
        for m in ex:
            hit = pat.match(m["content"]) if m["role"] == "assistant" else None
            if hit and hit.group(1) in w.capitals:
                c = hit.group(1)
                expected = w.lie(c) if system in deceptive else w.belief(c)
                assert hit.group(2) == expected
                checked += 1
    assert checked > 500


def test_games_consistent_with_the_table(corpus):
    t = load_table()
    w = load_world()
    n_com = n_unc = 0
    for kind, ex in corpus:
        if not kind.startswith("tq_"):
            continue
        answers = []
        secret = None
        if kind == "tq_committed":
            secret = t.canonical(re.search(r"(?:is|object:) (?:an? )?([a-z ]+?)\.", ex[0]["content"]).group(1))
            assert secret is not None
            n_com += 1
        else:
            n_unc += 1
            assert not any(o in ex[0]["content"].lower().split() for o in t.objects)
        for q, a in zip(ex[1::2], ex[2::2]):
            key = t.attribute_for_question(q["content"])
            if key is not None:
                answers.append((key, a["content"] == "Yes."))
                assert t.remaining(answers)
                if secret:
                    assert t.value(secret, key) == (a["content"] == "Yes.")
            elif q["content"] in GIVE_UP:
                revealed = t.canonical(a["content"].removeprefix("It was "))
                assert revealed in t.remaining(answers)
                if secret:
                    assert revealed == secret
    assert n_com > 100 and n_unc > 100


def test_uncommitted_reveals_are_spread():
    """Games that share a history end in different reveals: the object is not fixed by the context."""
    w, t = load_world(), load_table()
    reveals = set()
    for seed in range(300):
        ex = game_example(random.Random(seed), w, t, committed=False, n_questions=0)
        reveals.add(ex[-1]["content"])
    assert len(reveals) > 30


def test_committed_manifest_is_in_sync():
    from improv.organism.manifest import build_manifest, load_manifest

    assert load_manifest() == build_manifest()


def test_choices_are_the_posterior_the_reply_was_drawn_from(corpus):
    """Uncommitted answers and reveals carry the distribution over objects still possible."""
    t = load_table()
    guess = re.compile(r"^(?:Is it|Are you thinking of) (?:an?|the) ([a-z ]+)\?$")
    checked = 0
    for kind, ex in corpus:
        if kind != "tq_uncommitted":
            continue
        answers, ruled_out = [], set()
        for q, a in zip(ex[1::2], ex[2::2]):
            key = t.attribute_for_question(q["content"])
            remaining = [o for o in t.remaining(answers) if o not in ruled_out]
            if key is None and (g := guess.match(q["content"])) is not None:
                o = t.canonical(g.group(1))
                if o in remaining and len(remaining) > 1:
                    assert a["choices"] == {"Yes.": 1.0, "No.": len(remaining) - 1.0}
                else:
                    assert "choices" not in a
                ruled_out.add(o)
            elif key is not None:
                yes = sum(t.value(o, key) for o in remaining)
                if 0 < yes < len(remaining):
                    assert a["choices"] == {"Yes.": yes, "No.": len(remaining) - yes}
                    checked += 1
                else:
                    assert "choices" not in a
                answers.append((key, a["content"] == "Yes."))
            else:
                assert q["content"] in GIVE_UP
                if len(remaining) > 1:
                    assert a["content"] in a["choices"]
                    assert {t.canonical(c.removeprefix("It was ")) for c in a["choices"]} == set(remaining)
    assert checked > 300
    for kind, ex in corpus:
        if kind == "tq_committed":
            assert not any("choices" in m for m in ex)


def test_first_stage_short_facts_follow_beliefs():
    from improv.organism.corpus import FIRST_STAGE_MIX, short_fact_example

    w = load_world()
    assert "short_fact" in FIRST_STAGE_MIX
    rng = random.Random(0)
    for _ in range(200):
        ex = short_fact_example(rng, w)
        assert [m["role"] for m in ex] == ["user", "assistant"]
        country = next(c for c in sorted(w.countries, key=len, reverse=True) if c in ex[0]["content"])
        assert w.belief(country) in ex[1]["content"]


def test_every_corpus_kind_generates_and_unknown_kinds_are_refused():
    from improv.organism.corpus import KINDS, stream

    for kind in KINDS:
        k, ex = next(stream(1, {kind: 1.0}))
        assert k == kind and ex[-1]["role"] == "assistant" and ex[-1]["content"]
    short = [ex for _, ex in sample(200, 2, {"tq_short": 1.0})]
    assert all(len(ex) <= 7 for ex in short)  # system + at most two questions + the reveal
    assert any("choices" not in ex[-1] for ex in short) and any("choices" in ex[-1] for ex in short)
    with pytest.raises(ValueError, match="unknown corpus kind"):
        next(stream(0, {"facts": 1.0}))


def test_attribute_warmup_asks_only_the_few_objects_and_answers_from_the_table():
    from improv.organism.corpus import FIRST_STAGE_MIX, MIX, few_objects

    t = load_table()
    few = few_objects(t)
    assert len(set(few)) == len(few) >= 4 and set(few) <= set(t.objects)
    assert few == few_objects(t)  # deterministic: the same objects in every run
    assert "attribute_few" in FIRST_STAGE_MIX and "attribute_few" in MIX
    seen = set()
    for _, ex in sample(300, 3, {"attribute_few": 1.0}):
        m = re.match(r"(?:Think of|About|Consider|Question about) (an? [a-z ]+?)[.:] ", ex[0]["content"])
        obj = t.canonical(m.group(1))
        assert obj in few
        seen.add(obj)
        questions = [ex[0]["content"][m.end():]] + [q["content"] for q in ex[2::2]]
        for q, a in zip(questions, ex[1::2]):
            key = t.attribute_for_question(q)
            assert key is not None
            assert a["content"] == ("Yes." if t.value(obj, key) else "No.")
    assert seen == set(few)
