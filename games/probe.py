"""The secret probe: does anything inside the answerer hold a secret the text does not show?

For in-process models (``hf/``, ``organism``: ``Capabilities.hidden_states``):

- **Games.** Committed games (the secret in the system prompt, drawn round-robin from a pool of
  candidate objects, so every object is seen in training) split by game into train / validation /
  test; and uncommitted games, whose target is the object the model reveals at the end. Questions
  are a seeded random order of the table's attribute questions, as in ``twentyq batch``.
- **States.** For each answerer turn (the prompt of question 1..T, then the "I give up, what was
  it?" prompt, turn T+1) the last-token hidden state of the answerer's prompt, at every layer
  (row 0 = embeddings).
- **Probe.** Per layer, a multinomial logistic regression (numpy; features standardised on the
  training split; L2 penalty chosen with the layer on validation accuracy, ties to the lower
  validation log-loss), trained on the committed training games' states pooled over turns.
  Reported on the held-out test games, by turn, with Wilson intervals; chance is 1/candidates,
  and the majority line is the test share of the training split's most frequent secret.
- **Uncommitted.** The committed probe (trained with the secret in the prompt) is applied to the
  uncommitted games' states and asked for the later reveal, beside the answers-only baseline:
  the exact posterior given the answers so far, i.e. uniform over the candidates still possible
  (`Game.remaining`); its top-1 accuracy in expectation equals its probability of the
  reveal. The probe is also read with the answers (its distribution restricted to the still
  possible candidates), and the paired gain over the baseline in P(reveal) is a mean over games
  with a bootstrap interval: above zero means the state predicts the reveal beyond the answers.
  Games whose reveal names no candidate are excluded and counted by reason.
- **Logit lens** (`games.lens`): no training; per layer and turn, whether the candidate whose
  first token has the top lens logit is the secret (committed) or the later reveal (uncommitted),
  read on the reveal prompt after the answers so far with the reply begun "It was a", where the
  next token is the object.

The library returns a `ProbeReport` and never prints; ``improv twentyq probe`` renders it.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from improv.agents.errors import CapabilityError, ConfigError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig

from .answers import NON_REVEAL
from .batch import Mean, Share, table_questions
from .engine import ScriptQuestioner
from .game import Game
from .state import COMMITTED, UNCOMMITTED, RevealMeta, read_meta
from .table import ObjectTable, load_table

Progress = Callable[[int, int, str], None]
L2_GRID = (1e-3, 1e-2, 1e-1)


class ProbeSettings(BaseModel):
    """How many games of each kind, and how they are played and fitted."""

    candidates: int | None = Field(None, ge=2, description="Pool of secrets: this many table objects (seeded); None: all.")
    train: int = Field(108, ge=1, description="Committed games to train on.")
    val: int = Field(27, ge=1, description="Committed games to choose the layer and penalty on.")
    test: int = Field(54, ge=1, description="Held-out committed games the accuracy is reported on.")
    uncommitted: int = Field(54, ge=0, description="Uncommitted games the probe predicts the later reveal of.")
    turns: int = Field(6, ge=1, description="Questions per game (answerer turns: these plus the reveal).")
    seed: int = 0
    concurrency: int = Field(4, ge=1)
    temperature: float = Field(1.0, ge=0.0, description="Answerer temperature (answers and reveal).")
    max_tokens: int = Field(16, ge=1, description="Most tokens per answer or reveal (a reveal is a short sentence).")
    l2: tuple[float, ...] = L2_GRID
    iters: int = Field(300, ge=1, description="Accelerated gradient steps per fit.")
    lens: bool = True
    reveal: Literal["sampled", "exact"] = Field(
        "sampled", description="The uncommitted games' later reveal: the object the sampled reveal names ('sampled'), "
                               "or the top candidate of the exact posterior at the last turn ('exact', for models "
                               "whose sampled reveals rarely name an object; needs a backend that scores).")


# -- games and their states ---------------------------------------------------------------------

@dataclass
class GameStates:
    """One played game and the answerer's last-token states at each of its turns."""

    transcript_id: str
    condition: str
    secret: str | None
    reveal: str | None  # the candidate the main-line reveal names, else None
    reveal_label: str  # the reveal as read (a table object, an open label or "(non-reveal)")
    labels: list[str]
    possible: list[list[str]]  # per answerer turn: table objects consistent with the answers before it
    states: np.ndarray = field(repr=False)  # [turns + 1, layers + 1, hidden]
    # for the logit lens: per turn, the state on the reveal prompt after the answers so far with the
    # reply begun "It was a" (the next token names the object; at the prompt's own last token the
    # model predicts "It"); None when the lens is off
    lens_states: np.ndarray | None = field(default=None, repr=False)


def _reveal(game) -> str:
    """The label of the game's main-line reveal ("(non-reveal)" when it has none)."""
    leaf = game.record.main_leaf
    meta = read_meta(game.transcript.turn(leaf).meta) if leaf else None
    return meta.label if isinstance(meta, RevealMeta) and meta.label else NON_REVEAL


async def game_states(game, pool: Sequence[str], reveal: str = "sampled", lens: bool = False) -> GameStates:
    """The states of a played `Game`: one forward per answerer turn, on the exact messages the
    answerer was sent (`Game.answerer_messages`: question 1..T as sent, then the give-up prompt).
    ``reveal="exact"``: an uncommitted game's target is the exact posterior's top candidate at the end.
    ``lens``: also the states the logit lens reads (`GameStates.lens_states`), one more forward per turn."""
    from .lens import REVEAL_PREFIX

    model = game.model
    asked = len(game.exchanges)
    prompts = [game.answerer_messages(at, "question") for at in range(asked)] + [game.answerer_messages(asked)]
    states = [np.asarray(await model.hidden_states(p), dtype=np.float32) for p in prompts]
    lens_states = None
    if lens:
        lens_states = np.stack([np.asarray(await model.hidden_states(game.answerer_messages(at), reply=REVEAL_PREFIX),
                                           dtype=np.float32) for at in range(asked + 1)])
    label = _reveal(game)
    canon = game.table.canonical(label) if label != NON_REVEAL else None
    if reveal == "exact" and game.secret is None:
        canon = (await game.exact_posterior(asked, candidates=list(pool))).top
    return GameStates(
        transcript_id=game.transcript.id, condition=game.condition, secret=game.secret,
        reveal=canon if canon in pool else None, reveal_label=label,
        labels=[qa.label for qa in game.exchanges], possible=[list(game.remaining(at)) for at in range(asked + 1)],
        states=np.stack(states), lens_states=lens_states,
    )


@dataclass
class Plan:
    split: str  # train | val | test | uncommitted
    secret: str | None
    questions: list[str]
    rng: random.Random


def pick_pool(table: ObjectTable, size: int | None, seed: int) -> list[str]:
    if size is None or size >= len(table.objects):
        return list(table.objects)
    return sorted(random.Random(seed).sample(table.objects, size), key=table.objects.index)


def plan_games(settings: ProbeSettings, table: ObjectTable, pool: Sequence[str]) -> list[Plan]:
    """Secrets round-robin over the pool in each committed split (every object in training when
    ``train`` >= pool size), shuffled; questions a seeded random order per game."""
    rng = random.Random(settings.seed)
    plans = []
    for split, count in (("train", settings.train), ("val", settings.val), ("test", settings.test),
                         ("uncommitted", settings.uncommitted)):
        if split == "uncommitted":
            secrets: list[str | None] = [None] * count
        else:
            order = list(pool)
            rng.shuffle(order)
            secrets = [order[i % len(order)] for i in range(count)]
            rng.shuffle(secrets)
        for secret in secrets:
            plans.append(Plan(split, secret, table_questions(table, settings.turns, rng), random.Random(rng.getrandbits(32))))
    return plans


async def play_probe_games(model: Model, plans: Sequence[Plan], table: ObjectTable, pool: Sequence[str], settings: ProbeSettings,
                     progress: Progress | None = None) -> list[GameStates]:
    """Play every planned game (concurrently: the hf backend merges their generate calls) and read its states."""
    config = GenerateConfig(temperature=settings.temperature, max_tokens=settings.max_tokens)
    sem = asyncio.Semaphore(settings.concurrency)
    done = 0

    async def one(plan: Plan) -> GameStates:
        nonlocal done
        async with sem:
            game = Game.new(model, condition=COMMITTED if plan.secret else UNCOMMITTED, secret=plan.secret, table=table,
                            config=config, questioner="table-random", rng=plan.rng)
            await game.play(ScriptQuestioner(plan.questions, name="table-random"), turns=settings.turns)
            states = await game_states(game, pool, settings.reveal, lens=settings.lens)
        done += 1
        if progress:
            progress(done, len(plans), plan.split)
        return states

    if progress:
        progress(0, len(plans), "starting")
    return list(await asyncio.gather(*(one(p) for p in plans)))


# -- the probe: multinomial logistic regression in numpy ----------------------------------------

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_softmax(x: np.ndarray, y: np.ndarray, classes: int, l2: float, iters: int = 300) -> np.ndarray:
    """L2-penalised multinomial logistic regression by Nesterov-accelerated gradient descent with
    step 1/L (L bounds the Hessian: half the largest eigenvalue of XᵀX/n, plus the penalty).
    ``x`` [n, d] (standardised), ``y`` [n] class indices; returns weights [d + 1, classes], the
    last row the (unpenalised) bias. Convex, so a fixed number of steps is deterministic."""
    n = x.shape[0]
    xa = np.hstack([x, np.ones((n, 1), dtype=x.dtype)])
    target = np.zeros((n, classes), dtype=x.dtype)
    target[np.arange(n), y] = 1.0
    lipschitz = 0.5 * float(np.linalg.norm(xa, 2)) ** 2 / n + l2
    step = 1.0 / lipschitz
    penalty = np.full((xa.shape[1], 1), l2, dtype=x.dtype)
    penalty[-1] = 0.0
    w = np.zeros((xa.shape[1], classes), dtype=x.dtype)
    v, t = w.copy(), 1.0
    for _ in range(iters):
        grad = xa.T @ (_softmax(xa @ v) - target) / n + penalty * v
        w_next = v - step * grad
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        v = w_next + ((t - 1) / t_next) * (w_next - w)
        w, t = w_next, t_next
    return w


@dataclass
class Probe:
    """A fitted probe at one layer: standardisation and weights."""

    layer: int
    l2: float
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        return _softmax(z @ self.weights[:-1] + self.weights[-1])


def train_probe(x: np.ndarray, y: np.ndarray, classes: int, layer: int, l2: float, iters: int = 300) -> Probe:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    w = fit_softmax((x - mean) / scale, y, classes, l2, iters)
    return Probe(layer=layer, l2=l2, mean=mean, scale=scale, weights=w)


def _score(probe: Probe, x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    p = probe.proba(x)
    correct = int((p.argmax(axis=1) == y).sum())
    loss = float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())
    return correct, loss


@dataclass
class Selection:
    """The probe per layer (penalty chosen on validation) and the layer chosen."""

    probes: list[Probe]
    val_correct: list[int]
    val_loss: list[float]
    val_n: int
    best: int  # index into probes (= layer)


def select_probe(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, classes: int,
                 l2_grid: Sequence[float] = L2_GRID, iters: int = 300) -> Selection:
    """``*_x`` [n, layers, hidden]; per layer the penalty with the best validation accuracy (ties:
    lower log-loss), then the layer the same way (ties: the earlier layer)."""
    probes, correct, losses = [], [], []
    for layer in range(train_x.shape[1]):
        best = None
        for l2 in l2_grid:
            probe = train_probe(train_x[:, layer], train_y, classes, layer, l2, iters)
            c, loss = _score(probe, val_x[:, layer], val_y)
            if best is None or (c, -loss) > (best[1], -best[2]):
                best = (probe, c, loss)
        probes.append(best[0])
        correct.append(best[1])
        losses.append(best[2])
    chosen = max(range(len(probes)), key=lambda i: (correct[i], -losses[i], -i))
    return Selection(probes=probes, val_correct=correct, val_loss=losses, val_n=len(val_y), best=chosen)


# -- the report ---------------------------------------------------------------------------------

class LayerScore(BaseModel):
    layer: int
    l2: float
    val: Share = Field(description="Validation accuracy, all turns pooled (chooses the layer).")
    test: Share = Field(description="Held-out test accuracy, all turns pooled (shown, not used to choose).")


class Cell(BaseModel):
    """One (layer, turn) cell: the share of games whose target is the readout's top candidate."""

    layer: int
    turn: int
    share: Share


class TurnRow(BaseModel):
    """One answerer turn at the chosen layer: the probe against the answers-only baseline."""

    turn: int = Field(description="Answerer turn: 1..T answer question t; T+1 is the reveal prompt.")
    answers_before: int
    games: int
    probe: Share = Field(description="The probe's top candidate is the target.")
    probe_with_answers: Share = Field(description="Top candidate of the probe restricted to the candidates still possible.")
    answers_only: Mean = Field(description="Exact posterior given the answers (uniform over the still possible): "
                                           "P(target) = expected top-1 accuracy of a pick among them.")
    probe_p: Mean = Field(description="P(target) under the probe restricted to the candidates still possible.")
    gain: Mean = Field(description="Paired per game: probe_p - answers_only P(target); above 0: the state "
                                   "predicts the target beyond the answers.")
    possible_mean: float = Field(description="Candidates still possible, mean over games.")
    lens: Share | None = Field(None, description="Logit lens at the lens layer: its top candidate is the target.")


class Section(BaseModel):
    """The probe's readout on one set of games."""

    condition: str
    target: str = Field(description="What is predicted: 'secret' (committed) or 'later reveal' (uncommitted).")
    games: int = Field(description="Games evaluated.")
    excluded: dict[str, int] = Field(default_factory=dict, description="Games left out, by reason.")
    pooled: Share = Field(description="Chosen layer, all turns pooled.")
    majority: Share = Field(description="Always guessing the majority object (see `majority_object`).")
    majority_object: str | None = None
    turns: list[TurnRow]
    by_layer: list[Cell] = Field(description="Probe top-1 accuracy by layer and turn.")
    lens_by_layer: list[Cell] = Field(default_factory=list, description="Logit-lens top-1 accuracy by layer and turn.")
    fallback_uniform: int = Field(0, description="Turn readouts where the answers ruled out every candidate "
                                                 "(the baseline and the restricted probe fall back to all candidates).")


class LensInfo(BaseModel):
    layer: int = Field(description="The row the per-turn lens column uses (the last: the model's own readout).")
    tokens: dict[str, str] = Field(description="Candidate -> the first token scored.")
    collisions: int = Field(description="Candidates sharing a first token with another (indistinguishable).")


class GameRow(BaseModel):
    transcript_id: str
    split: str
    secret: str | None
    reveal: str
    labels: list[str]


class ProbeReport(BaseModel):
    model: str
    settings: ProbeSettings
    objects: str
    candidates: list[str]
    chance: float = Field(description="1 / number of candidate objects.")
    rows: int = Field(description="Hidden-state rows per turn (layers + 1; row 0 the embeddings).")
    hidden: int
    layer: int = Field(description="Layer chosen on validation games.")
    l2: float
    layers: list[LayerScore]
    committed: Section
    uncommitted: Section | None = None
    lens: LensInfo | None = None
    notes: list[str] = Field(default_factory=list)
    games: list[GameRow] = Field(default_factory=list)


# -- evaluation ---------------------------------------------------------------------------------

def _restricted(p: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, bool]:
    """``p`` restricted to ``allowed`` and renormalised; (p, True) unchanged when nothing is allowed."""
    if not allowed.any():
        return p, True
    q = p * allowed
    total = q.sum()
    return (q / total if total > 0 else allowed / allowed.sum()), False


def evaluate(games: Sequence[GameStates], targets: Sequence[int], selection: Selection, pool: Sequence[str],
             condition: str, target: str, excluded: dict[str, int], majority_object: str | None,
             lens_top: Sequence[np.ndarray] | None = None, resamples: int = 500) -> Section:
    """Score the probe (chosen layer, and every layer) and the baseline on ``games``."""
    index = {o: i for i, o in enumerate(pool)}
    probe = selection.probes[selection.best]
    turns = min((g.states.shape[0] for g in games), default=0)
    rows = []
    fallback = 0
    for t in range(turns):
        hit = hit_r = 0
        base_p, probe_p, gains, possible, lens_hits = [], [], [], [], 0
        for gi, (g, y) in enumerate(zip(games, targets)):
            p = probe.proba(g.states[t, probe.layer][None])[0]
            allowed = np.zeros(len(pool))
            for o in g.possible[t]:
                if o in index:
                    allowed[index[o]] = 1.0
            pr, fell = _restricted(p, allowed)
            base = allowed / allowed.sum() if allowed.any() else np.full(len(pool), 1 / len(pool))
            fallback += fell
            hit += int(p.argmax() == y)
            hit_r += int(pr.argmax() == y)
            base_p.append(float(base[y]))
            probe_p.append(float(pr[y]))
            gains.append(float(pr[y] - base[y]))
            possible.append(float(allowed.sum()))
            if lens_top is not None:
                lens_hits += int(lens_top[gi][t, -1] == y)
        n = len(games)
        rows.append(TurnRow(
            turn=t + 1, answers_before=t, games=n, probe=Share.of(hit, n), probe_with_answers=Share.of(hit_r, n),
            answers_only=Mean.of(base_p, resamples), probe_p=Mean.of(probe_p, resamples), gain=Mean.of(gains, resamples),
            possible_mean=fmean(possible) if possible else 0.0,
            lens=Share.of(lens_hits, n) if lens_top is not None else None))
    by_layer, lens_cells = [], []
    for layer, lp in enumerate(selection.probes):
        for t in range(turns):
            x = np.stack([g.states[t, layer] for g in games]) if games else None
            hits = int((lp.proba(x).argmax(axis=1) == np.asarray(targets)).sum()) if games else 0
            by_layer.append(Cell(layer=layer, turn=t + 1, share=Share.of(hits, len(games))))
            if lens_top is not None:
                lh = sum(int(lt[t, layer] == y) for lt, y in zip(lens_top, targets))
                lens_cells.append(Cell(layer=layer, turn=t + 1, share=Share.of(lh, len(games))))
    pooled_hits = sum(r.probe.count for r in rows)
    pooled_n = sum(r.probe.n for r in rows)
    maj = index.get(majority_object) if majority_object is not None else None
    return Section(
        condition=condition, target=target, games=len(games), excluded=excluded,
        pooled=Share.of(pooled_hits, pooled_n),
        majority=Share.of(sum(int(y == maj) for y in targets), len(targets)), majority_object=majority_object,
        turns=rows, by_layer=by_layer, lens_by_layer=lens_cells, fallback_uniform=fallback,
    )


def _xy(games: Sequence[GameStates], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """States pooled over turns: x [n * turns, rows, hidden], y repeated per turn."""
    xs = [g.states for g in games]
    ys = [np.full(g.states.shape[0], y) for g, y in zip(games, labels)]
    return np.concatenate(xs), np.concatenate(ys)


def analyse(games_by_split: dict[str, list[GameStates]], pool: Sequence[str], settings: ProbeSettings, *,
            model: str, objects: str, lens=None, notes: Sequence[str] = ()) -> ProbeReport:
    """Fit and evaluate on already played games (``train``, ``val``, ``test``, ``uncommitted``)."""
    index = {o: i for i, o in enumerate(pool)}
    train, val, test = (games_by_split.get(s, []) for s in ("train", "val", "test"))
    if not train or not val or not test:
        raise ConfigError("the secret probe needs committed train, validation and test games (settings: train, val, test)")
    tx, ty = _xy(train, [index[g.secret] for g in train])
    vx, vy = _xy(val, [index[g.secret] for g in val])
    selection = select_probe(tx, ty, vx, vy, len(pool), settings.l2, settings.iters)
    test_x, test_y = _xy(test, [index[g.secret] for g in test])
    layers = []
    for layer, probe in enumerate(selection.probes):
        c, _ = _score(probe, test_x[:, layer], test_y)
        layers.append(LayerScore(layer=layer, l2=probe.l2, val=Share.of(selection.val_correct[layer], selection.val_n),
                                 test=Share.of(c, len(test_y))))
    majority = Counter(g.secret for g in train).most_common(1)[0][0]

    def tops(games: Sequence[GameStates]):
        if lens is None:
            return None
        return [lens.top(g.lens_states if g.lens_states is not None else g.states) for g in games]

    committed = evaluate(test, [index[g.secret] for g in test], selection, pool, COMMITTED, "secret", {}, majority,
                         tops(test))
    section = None
    unc = games_by_split.get("uncommitted", [])
    if unc:
        kept = [g for g in unc if g.reveal is not None]
        excluded = Counter("non-reveal" if g.reveal_label == NON_REVEAL else "reveal outside the candidates"
                           for g in unc if g.reveal is None)
        target = "later reveal" if settings.reveal == "sampled" else "exact-posterior top at the end"
        reveals = Counter(g.reveal for g in kept)
        section = evaluate(kept, [index[g.reveal] for g in kept], selection, pool, UNCOMMITTED, target,
                           dict(excluded), reveals.most_common(1)[0][0] if reveals else None, tops(kept))
    first = next(iter(games_by_split.values()))[0]
    lens_info = None
    if lens is not None:
        lens_info = LensInfo(layer=first.states.shape[1] - 1, tokens=dict(zip(lens.candidates, lens.token_text)),
                             collisions=lens.collisions)
    rows = [GameRow(transcript_id=g.transcript_id, split=split, secret=g.secret, reveal=g.reveal_label, labels=g.labels)
            for split, gs in games_by_split.items() for g in gs]
    return ProbeReport(
        model=model, settings=settings, objects=objects, candidates=list(pool), chance=1 / len(pool),
        rows=first.states.shape[1], hidden=first.states.shape[2], layer=selection.best,
        l2=selection.probes[selection.best].l2, layers=layers, committed=committed, uncommitted=section,
        lens=lens_info, notes=list(notes), games=rows,
    )


async def run_probe(model: Model, settings: ProbeSettings | None = None, *, table: ObjectTable | None = None,
                    pool: Sequence[str] | None = None, progress: Progress | None = None) -> ProbeReport:
    """Play the games, read the states, fit the probe, evaluate it, read the logit lens.
    ``pool``: the candidate objects (table objects; default `settings.candidates` of them, seeded)."""
    settings = settings or ProbeSettings()
    if not model.capabilities.hidden_states:
        raise CapabilityError(f"{model.name}: the secret probe needs hidden states, which only in-process models "
                              "expose (hf/..., organism)")
    if settings.reveal == "exact" and not model.capabilities.score:
        raise CapabilityError(f"{model.name}: reveal 'exact' needs a backend that scores continuations")
    table = table if table is not None else load_table()
    if settings.candidates is not None and settings.candidates > len(table.objects):
        raise ConfigError(f"candidates {settings.candidates}: the {table.name} table has {len(table.objects)} objects")
    if pool is not None:
        unknown = [o for o in pool if o not in table.objects]
        if unknown or len(set(pool)) < 2:
            raise ConfigError(f"candidates: {unknown[0] if unknown else 'fewer than two objects'!r} "
                              f"{'is not in the ' + table.name + ' table' if unknown else ''}".strip())
        pool = list(dict.fromkeys(pool))
    else:
        pool = pick_pool(table, settings.candidates, settings.seed)
    plans = plan_games(settings, table, pool)
    played = await play_probe_games(model, plans, table, pool, settings, progress)
    by_split: dict[str, list[GameStates]] = {}
    for plan, g in zip(plans, played):
        by_split.setdefault(plan.split, []).append(g)
    notes = []
    lens = None
    if settings.lens:
        try:
            lens = await lens_for_model(model, pool)
        except CapabilityError as err:
            notes.append(f"no logit lens: {err}")
    if len(pool) > settings.train:
        notes.append(f"{settings.train} training games for {len(pool)} candidates: some objects are never seen in training")
    return await asyncio.to_thread(analyse, by_split, pool, settings, model=model.name, objects=table.name,
                                   lens=lens, notes=notes)


async def lens_for_model(model: Model, pool: Sequence[str]):
    from .lens import lens_for

    return await lens_for(model, pool)


__all__ = [
    "GameStates", "Probe", "ProbeReport", "ProbeSettings", "Section", "TurnRow", "analyse",
    "evaluate", "fit_softmax", "game_states", "pick_pool", "plan_games", "play_probe_games", "run_probe", "select_probe",
    "train_probe",
]
