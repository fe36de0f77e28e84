"""The secret probe (games.probe) on planted linear signals.

- On synthetic hidden-state sets: a known direction per object at one layer encodes the target;
  the probe must find that layer and score near 1.0, and near chance when the direction is removed.
- End to end on a tiny scripted in-process "model" (a Backend whose hidden states carry the planted
  direction of the object it holds): committed games are decoded, and an answerer that privately
  commits in uncommitted games is caught (the state beats the answers-only baseline at turn 1),
  while one whose states carry nothing is not.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from improv.agents.backend import Backend
from improv.agents.errors import CapabilityError
from improv.agents.model import Model
from improv.agents.types import Capabilities, Choice, Completion
from improv.games.answers import article
from improv.games.engine import ANSWER_FORMAT, GIVE_UP
from improv.games.probe import GameStates, ProbeSettings, analyse, fit_softmax, run_probe
from improv.games.table import load_table

POOL = ["cat", "dog", "apple", "car", "book", "guitar"]
HIDDEN = 16
ROWS = 3  # embeddings + 2 layers; the signal sits in row 2


def _direction(obj: str) -> np.ndarray:
    v = np.zeros(HIDDEN)
    v[POOL.index(obj)] = 1.0
    return v


def _synthetic(split: str, n: int, rng: np.random.Generator, strength: float, turns: int = 3) -> list[GameStates]:
    table = load_table()
    out = []
    for i in range(n):
        obj = POOL[i % len(POOL)]
        states = rng.normal(size=(turns, ROWS, HIDDEN)).astype(np.float32)
        states[:, 2] += strength * _direction(obj)
        unc = split == "uncommitted"
        out.append(GameStates(transcript_id=f"{split}{i}", condition="uncommitted" if unc else "committed",
                              secret=None if unc else obj, reveal=obj, reveal_label=obj, labels=["yes"] * (turns - 1),
                              possible=[list(table.objects)] * turns, states=states))
    return out


def _report(strength: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    games = {s: _synthetic(s, n, rng, strength) for s, n in (("train", 60), ("val", 24), ("test", 30), ("uncommitted", 30))}
    return analyse(games, POOL, ProbeSettings(train=60, val=24, test=30, uncommitted=30, turns=2), model="synthetic",
                   objects="builtin")


def test_fit_softmax_separates_planted_classes():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 20)
    x = rng.normal(size=(60, 5)) + 4 * np.eye(5)[y]
    w = fit_softmax(x, y, 3, l2=1e-3)
    assert w.shape == (6, 3)
    assert ((x @ w[:-1] + w[-1]).argmax(axis=1) == y).mean() == 1.0


def test_probe_finds_the_planted_layer_and_scores_near_one():
    report = _report(strength=4.0)
    assert report.layer == 2
    assert report.chance == pytest.approx(1 / len(POOL))
    assert report.committed.pooled.value >= 0.95
    assert report.committed.pooled.n == 30 * 3
    assert report.layers[2].test.value >= 0.95 and report.layers[0].test.value < 0.5
    # the answers here rule nothing out: the baseline is chance, the probe's gain is large and certain
    first = report.committed.turns[0]
    assert first.answers_only.value == pytest.approx(1 / len(POOL))
    assert first.gain.ci[0] > 0.3
    # the uncommitted games carry the same direction for their later reveal
    assert report.uncommitted.pooled.value >= 0.95
    assert report.uncommitted.excluded == {}
    cells = {(c.layer, c.turn): c.share for c in report.uncommitted.by_layer}
    assert cells[(2, 1)].value >= 0.9 and cells[(0, 1)].value < 0.5


def test_probe_without_the_signal_is_near_chance():
    report = _report(strength=0.0)
    assert report.committed.pooled.value < 0.4  # chance 0.17; n=90
    assert report.committed.pooled.ci[0] < 1 / len(POOL) + 0.05
    assert report.uncommitted.turns[0].gain.ci[0] < 0.05


# -- end to end on a scripted in-process model with planted hidden states ------------------------

class PlantedBackend(Backend):
    """Answers from the object table for the object it holds; its hidden states are noise plus, at
    the last row, that object's direction (``strength`` 0: noise only). Committed: the object is the
    system prompt's secret. Uncommitted, ``commits=True``: it privately holds an object chosen from
    the first question's wording (and answers and reveals by it); ``commits=False``: it reveals one
    such object but its states carry nothing."""

    capabilities = Capabilities(hidden_states=True, streaming=False)

    def __init__(self, strength: float = 5.0, commits: bool = True) -> None:
        self.name = "planted/tiny"
        self.table = load_table()
        self.strength = strength
        self.commits = commits

    def held(self, messages) -> str:
        system = next((m.content for m in messages if m.role == "system"), "")
        found = re.search(r"secret object is ([a-z ]+)\.", system)
        if found:
            return found.group(1)
        first = next((m.content for m in messages if m.role == "user"), "")
        return POOL[int(hashlib.sha256(first.encode()).hexdigest(), 16) % len(POOL)]

    async def generate(self, messages, config) -> Completion:
        obj = self.held(messages)
        question = messages[-1].content
        if question == GIVE_UP:
            text = f"It was {article(obj)}."
        else:
            key = self.table.attribute_for_question(question.replace(ANSWER_FORMAT, "").strip())
            text = "Yes." if key is not None and self.table.value(obj, key) else "No."
        return Completion(model=self.name, choices=[Choice(text=text, finish_reason="stop")] * config.n)

    async def hidden_states(self, messages, reply=None, layers=None):
        seed = int(hashlib.sha256("|".join(m.content for m in messages).encode()).hexdigest()[:8], 16)
        states = np.random.default_rng(seed).normal(size=(ROWS, HIDDEN)).astype(np.float32)
        committed = any(m.role == "system" and "secret object" in m.content for m in messages)
        if committed or self.commits:
            states[-1] += self.strength * _direction(self.held(messages))
        return states


SMALL = ProbeSettings(candidates=None, train=18, val=6, test=12, uncommitted=12, turns=2, concurrency=4, lens=False)


async def _run(backend: PlantedBackend):
    return await run_probe(Model(backend), SMALL, table=load_table(), pool=POOL)


async def test_end_to_end_committed_secret_and_a_private_commitment_are_read():
    report = await _run(PlantedBackend(strength=5.0, commits=True))
    assert report.layer == ROWS - 1
    assert report.committed.pooled.value >= 0.9
    assert report.committed.games == 12 and report.uncommitted.games == 12
    assert sum(r.split == "train" for r in report.games) == 18
    first = report.uncommitted.turns[0]  # before any answer: only the state knows the object
    assert first.answers_before == 0
    assert first.probe.value >= 0.9 and first.answers_only.value == pytest.approx(1 / len(POOL))
    assert first.gain.ci[0] > 0.3
    assert not any("no logit lens" in n for n in report.notes)  # lens off: no note


async def test_end_to_end_no_commitment_means_no_gain_and_no_signal_means_chance():
    open_answerer = await _run(PlantedBackend(strength=5.0, commits=False))
    assert open_answerer.committed.pooled.value >= 0.9  # the committed secret is still read
    assert open_answerer.uncommitted.turns[0].gain.ci[0] < 0.1  # but nothing predicts the later reveal
    silent = await _run(PlantedBackend(strength=0.0))
    assert silent.committed.turns[0].probe.value < 0.6  # chance 1/6, n=12


async def test_a_model_without_hidden_states_is_refused():
    from improv.agents.registry import get_model

    with pytest.raises(CapabilityError, match="hidden states"):
        await run_probe(get_model("mock/echo"), SMALL)


async def test_a_pool_outside_the_table_is_refused():
    from improv.agents.errors import ConfigError

    with pytest.raises(ConfigError, match="unicorn"):
        await run_probe(Model(PlantedBackend()), SMALL, table=load_table(), pool=["cat", "unicorn"])
