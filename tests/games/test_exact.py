"""Exact posterior via score on a tiny transformers model (hf/ backend)."""

import math

import pytest

from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig, Message
from improv.games.analysis import analyse_node, exact_posterior, mass_test, posterior_curve, reveal_sentence
from improv.games.engine import ScriptQuestioner, play_game
from improv.games.game import Game
from tests.tiny_model import build_tiny_model

CANDIDATES = ["cat", "dog", "rose", "car", "apple"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


async def test_exact_posterior_matches_scores_and_information_gain(tiny_dir):
    model = get_model(f"hf/{tiny_dir}")
    try:
        t = await play_game(model, ScriptQuestioner(["Is it alive?", "Is it an animal?"]), turns=2,
                            config=GenerateConfig(max_tokens=4, seed=1))
        post = await exact_posterior(t, model, at=2, candidates=CANDIDATES)
        assert set(post.probabilities) == set(CANDIDATES)
        assert sum(post.probabilities.values()) == pytest.approx(1.0)
        assert 0.0 <= post.entropy_bits <= math.log2(len(CANDIDATES)) + 1e-9
        # the same numbers by hand from model.score
        agent = Game.open(t, model).agent()
        history = [m for x in t.path(t.meta["main_leaf"])[:4] for m in [x.message()]]
        messages = agent.messages([*history, Message(role="user", content="I give up, what was it?")])
        assert Game.open(t, None).answerer_messages(2) == messages  # the public rebuild of what the answerer saw
        scores = await model.score(messages, [reveal_sentence(c) for c in CANDIDATES])
        z = sum(math.exp(s) for s in scores)
        for c, s in zip(CANDIDATES, scores):
            assert post.probabilities[c] == pytest.approx(math.exp(s) / z, rel=1e-4)
        curve = await posterior_curve(t, model, candidates=CANDIDATES)
        assert len(curve.posteriors) == 3 and len(curve.information_gain) == 2
        for i, gain in enumerate(curve.information_gain, 1):
            assert gain == pytest.approx(curve.entropies[i - 1] - curve.entropies[i])
        # sampled reveals beside the exact posterior, drawn as one n=K call on hf
        node = await analyse_node(t, model, at=1, k=4, exact=True, config=GenerateConfig(max_tokens=4))
        assert node.sample.k == 4 and node.posterior is not None
        mt = await mass_test(t, model, at=1, candidates=CANDIDATES[:2], record=False)
        assert mt.source == "logprobs" and 0.0 <= mt.total <= 2.0
    finally:
        await model.aclose()


async def test_batch_records_exact_posterior_entropy(tiny_dir):
    from improv.games.batch import run_batch

    model = get_model(f"hf/{tiny_dir}")
    try:
        result = await run_batch(model, games=1, turns=1, k=2, exact=True, conditions=("committed",),
                                 config=GenerateConfig(max_tokens=4))
    finally:
        await model.aclose()
    turns = result.summary.conditions["committed"].turns
    assert [t.at for t in turns] == [0, 1]
    assert all(t.posterior_entropy.value is not None and 0 < t.posterior_entropy.value <= math.log2(54) + 1e-9
               for t in turns)
    # the committed contrast: mass on the secret beside the largest mass on any object
    for t in turns:
        assert 0 < t.posterior_secret_mass.value <= t.posterior_top_mass.value <= 1 and t.posterior_top_mass.n == 1
    # answers read from the model's distribution: always a label, never invalid
    assert turns[1].invalid.value == 0.0 and turns[1].answers_from_distribution == 1
    assert result.summary.answers == "logprobs"
