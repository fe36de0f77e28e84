"""Batch: N games per condition, each resampled at every turn; a per-turn summary.

Games run concurrently (``asyncio.gather`` under a semaphore). For every game and every node
``t = 0..T`` the reveal is resampled K times in one n=K call, canonicalised and checked
against the answers given so far. The summary gives, per condition and turn, every share with
its n and 95% interval: invalid answers, non-reveals, object reveals inside the table, the
reveal entropy over the objects named (mean over games), distinct reveals, reveals that fit
every earlier answer (n/a when nothing could be checked), how many table objects remain
possible; where the answerer holds an object (committed: the tool's secret; private, sealed: its
own choice) the share naming it; for sealed games the share that open the seal; with ``exact``,
the exact posterior's entropy, its largest mass on any object and its mass on the held object.
Every game is a `games.game.Game`, the object the CLI and the TUI drive.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Sequence
from typing import NamedTuple
from pathlib import Path
from statistics import fmean

from pydantic import BaseModel, Field

from improv.agents.model import Model
from improv.agents.types import GenerateConfig
from improv.evaluator.stats import bootstrap_interval, wilson_interval
from improv.transcripts.schema import Transcript

from .engine import AUTO, Questioner, ScriptQuestioner, answer_route, default_answer_format
from .fit import FitChecker
from .game import Game
from .metrics import MassTest
from .state import COMMITTED, PRIVATE, SEALED, UNCOMMITTED

#: protocols in which the answerer holds an object (the tool's or its own), and those where it chooses
HOLDING = (COMMITTED, PRIVATE, SEALED)
CHOOSING = (PRIVATE, SEALED)
from .table import ObjectTable, load_table

Progress = Callable[[int, int, str], None]


class NodeStats(BaseModel):
    at: int
    k: int = 0
    objects: int = Field(0, description="Reveals naming an object (the entropy's n).")
    non_reveals: int = 0
    in_table: int = 0
    entropy_bits: float | None
    entropy_ci: tuple[float, float] | None = None
    distinct: int
    top: str | None
    top_mass: float | None
    consistent: int
    contradicted: int
    undecided: int
    nothing_to_check: int = 0
    remaining: int
    secret_count: int | None = Field(None, description="Object reveals naming the held object (committed: the "
                                                        "secret; private, sealed: the answerer's own choice).")
    seal_count: int | None = Field(None, description="Sealed: object reveals that open the seal.")
    secret_share: float | None = None
    posterior_entropy: float | None = None
    posterior_top: str | None = None
    posterior_top_mass: float | None = Field(None, description="The largest exact-posterior mass on any object.")
    posterior_secret_mass: float | None = Field(None, description="Committed: exact-posterior mass on the secret.")
    answer_label: str | None = Field(None, description="Label of the answer to question `at` (None at 0).")
    answer_source: str | None = None
    answer_p_other: float | None = None


class GameResult(BaseModel):
    transcript_id: str
    condition: str
    secret: str | None
    chose: bool | None = Field(None, description="Private, sealed: did the answerer's private choice name an object.")
    questions: list[str]
    labels: list[str]
    answers_fit_secret: float | None = Field(None, description="Committed: share of yes/no answers the table agrees with.")
    nodes: list[NodeStats]
    mass: MassTest | None = Field(None, description="With ``mass``: the mass test at the last turn (per_candidate dropped).")


class Share(BaseModel):
    """A share with its n and 95% Wilson interval; ``value`` None ("n/a") when n is 0."""

    count: int
    n: int
    value: float | None
    ci: tuple[float, float] | None

    @classmethod
    def of(cls, count: int, n: int) -> "Share":
        return cls(count=count, n=n, value=count / n if n else None, ci=wilson_interval(count, n) if n else None)

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return "n/a (n=0)"
        return f"{self.value:.{digits}f} [{self.ci[0]:.{digits}f}-{self.ci[1]:.{digits}f}] n={self.n}"


class Mean(BaseModel):
    """A mean over games with its n and 95% percentile bootstrap interval (contains the mean)."""

    value: float | None
    n: int
    ci: tuple[float, float] | None

    @classmethod
    def of(cls, values: Sequence[float], resamples: int = 500) -> "Mean":
        values = list(values)
        if not values:
            return cls(value=None, n=0, ci=None)
        m = fmean(values)
        lo, hi = bootstrap_interval(values, fmean, resamples=resamples)
        return cls(value=m, n=len(values), ci=(min(lo, m), max(hi, m)))

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return "n/a (n=0)"
        return f"{self.value:.{digits}f} [{self.ci[0]:.{digits}f}-{self.ci[1]:.{digits}f}] n={self.n}"


class TurnSummary(BaseModel):
    at: int
    games: int
    invalid: Share | None = Field(None, description="Answers to question `at` labelled invalid (None at turn 0).")
    answers_from_distribution: int = Field(0, description="Answers drawn from the model's distribution (first-token logprobs or scored replies).")
    p_other_mean: float | None = Field(None, description="Mean first-token mass off yes/no of the answers at this turn.")
    non_reveals: Share = Field(description="Sampled reveals naming no object, over all sampled reveals.")
    in_table: Share = Field(description="Object reveals naming a table object, over object reveals.")
    entropy: Mean = Field(description="Reveal entropy over the objects named (bits), mean over games with any.")
    distinct_mean: float
    remaining_mean: float
    consistency: Share = Field(description="Object reveals fitting every earlier answer, over those checked.")
    undecided: int
    nothing_to_check: int
    secret: Share | None = Field(None, description="Committed, private, sealed: object reveals naming the held object.")
    seal: Share | None = Field(None, description="Sealed: object reveals that open the seal.")
    posterior_entropy: Mean | None = None
    posterior_top_mass: Mean | None = Field(None, description="Exact posterior: largest mass on any object.")
    posterior_secret_mass: Mean | None = Field(None, description="Committed, exact posterior: mass on the secret.")
    posterior_top_is_secret: Share | None = None

    # the names earlier readers of summary.json used
    @property
    def entropy_mean(self) -> float | None:
        return self.entropy.value

    @property
    def consistency_share(self) -> float | None:
        return self.consistency.value

    @property
    def secret_share(self) -> float | None:
        return self.secret.value if self.secret else None


class ConditionSummary(BaseModel):
    condition: str
    games: int
    turns: list[TurnSummary]
    secret: Share | None = Field(None, description="Object reveals naming the held object, all turns.")
    seal: Share | None = Field(None, description="Sealed: object reveals that open the seal, all turns.")
    chose: Share | None = Field(None, description="Private, sealed: games whose answerer named an object when it chose.")
    consistency: Share
    answers_fit_secret: Mean | None = None
    invalid: Share = Field(description="Invalid answers over all answers.")
    non_reveals: Share
    in_table: Share
    mass_total: Mean | None = Field(None, description="Mass test at the last turn: sum of P(yes | 'Is it X?') over the table.")
    mass_top_p_yes: Mean | None = Field(None, description="Mass test: the largest P(yes) over candidates.")
    mass_top_is_held: Share | None = Field(None, description="Mass test: games whose top candidate is the held object.")
    mass_no_to_everything: Share | None = Field(None, description="Mass test: games where no candidate gets P(yes) >= 0.5.")

    @property
    def secret_share(self) -> float | None:
        return self.secret.value if self.secret else None

    @property
    def consistency_share(self) -> float | None:
        return self.consistency.value


class BatchSummary(BaseModel):
    model: str
    questioner: str
    games_per_condition: int
    turns: int
    k: int
    exact: bool
    objects: str = "builtin"
    candidates: int = 0
    answers: str = Field("text", description="'logprobs': labels drawn from the model's first-token distribution; 'text': parsed.")
    answer_format: str | None = None
    notes: list[str] = Field(default_factory=list, description="What the run fell back to, and why.")
    conditions: dict[str, ConditionSummary]


class BatchResult(BaseModel):
    summary: BatchSummary
    games: list[GameResult]
    transcripts: list[Transcript] = Field(exclude=True)


def table_questions(table: ObjectTable, turns: int, rng: random.Random) -> list[str]:
    """A random order of the table's canonical attribute questions."""
    qs = [a.question for a in table.attributes]
    rng.shuffle(qs)
    return qs[:turns]


class GameSetup(NamedTuple):
    condition: str
    secret: str | None
    questioner: Questioner
    rng: random.Random


def seeded_games(table: ObjectTable, conditions: str | Sequence[str], games: int, turns: int, seed: int,
                 questions: Sequence[str] | None = None,
                 questioner_factory: Callable[[], Questioner] | None = None) -> list[GameSetup]:
    """The games a batch plays, from one seeded stream: per condition and game, the committed
    secret (drawn from the table), the questioner (a fixed list, a factory's, or a random order of
    the table's attribute questions) and the game's own answer-drawing rng."""
    rng = random.Random(seed)
    out = []
    for condition in [conditions] if isinstance(conditions, str) else conditions:
        for _ in range(games):
            secret = rng.choice(table.objects) if condition == COMMITTED else None
            if questioner_factory is not None:
                q: Questioner = questioner_factory()
            elif questions is not None:
                q = ScriptQuestioner(list(questions), name="script")
            else:
                q = ScriptQuestioner(table_questions(table, turns, rng), name="table-random")
            out.append(GameSetup(condition, secret, q, random.Random(rng.getrandbits(32))))
    return out


async def run_game(game: Game, questioner: Questioner, *, turns: int, k: int, exact: bool = False,
                   config: GenerateConfig | None = None, mass: bool = False) -> GameResult:
    """Play ``game`` and analyse every node: K reveals, fit, objects possible, exact posterior;
    with ``mass``, the mass test at the last turn."""
    await game.play(questioner, turns=turns)
    line = game.exchanges
    secret = game.secret
    nodes: list[NodeStats] = []
    for at in range(len(line) + 1):
        node = await game.analyse(at, k=k, exact=exact, config=config)
        post = node.posterior
        d = node.sample.distribution
        qa = line[at - 1] if at else None
        nodes.append(NodeStats(
            at=at, k=d.k, objects=d.objects, non_reveals=d.non_reveals, in_table=d.in_table,
            entropy_bits=d.entropy_bits, entropy_ci=d.entropy_ci, distinct=d.distinct, top=d.top, top_mass=d.top_mass,
            consistent=node.consistency.consistent, contradicted=node.consistency.contradicted,
            undecided=node.consistency.undecided, nothing_to_check=node.consistency.nothing_to_check,
            remaining=len(node.remaining),
            secret_count=d.counts.get(secret, 0) if secret else None, secret_share=node.secret_share,
            seal_count=node.sample.seal_matches,
            posterior_entropy=post.entropy_bits if post else None,
            posterior_top=post.top if post else None, posterior_top_mass=post.top_mass if post else None,
            posterior_secret_mass=post.probabilities.get(secret) if post and secret else None,
            answer_label=qa.label if qa else None, answer_source=qa.source if qa else None,
            answer_p_other=qa.p_other if qa else None,
        ))
    return GameResult(
        transcript_id=game.transcript.id,
        condition=game.condition,
        secret=secret,
        chose=(secret is not None) if game.condition in CHOOSING else None,
        questions=[qa.question for qa in line],
        labels=[qa.label for qa in line],
        answers_fit_secret=game.answers_fit_secret(),
        nodes=nodes,
        mass=(await game.mass_test(k=min(k, 8), record=False)).model_copy(update={"per_candidate": {}}) if mass else None,
    )


def summarise(condition: str, games: Sequence[GameResult], *, resamples: int = 500) -> ConditionSummary:
    max_at = max((len(g.nodes) for g in games), default=0)
    committed = condition in HOLDING
    turns: list[TurnSummary] = []
    for at in range(max_at):
        rows = [g.nodes[at] for g in games if len(g.nodes) > at]
        answered = [r for r in rows if r.answer_label is not None]
        others = [r.answer_p_other for r in answered if r.answer_p_other is not None]
        posts = [r for r in rows if r.posterior_entropy is not None]
        secret_posts = [r for r in posts if r.posterior_secret_mass is not None]
        turns.append(TurnSummary(
            at=at, games=len(rows),
            invalid=Share.of(sum(r.answer_label == "invalid" for r in answered), len(answered)) if at else None,
            answers_from_distribution=sum(r.answer_source in ("logprobs", "scored") for r in answered),
            p_other_mean=fmean(others) if others else None,
            non_reveals=Share.of(sum(r.non_reveals for r in rows), sum(r.k for r in rows)),
            in_table=Share.of(sum(r.in_table for r in rows), sum(r.objects for r in rows)),
            entropy=Mean.of([r.entropy_bits for r in rows if r.entropy_bits is not None], resamples),
            distinct_mean=fmean(r.distinct for r in rows), remaining_mean=fmean(r.remaining for r in rows),
            consistency=Share.of(sum(r.consistent for r in rows), sum(r.consistent + r.contradicted for r in rows)),
            undecided=sum(r.undecided for r in rows), nothing_to_check=sum(r.nothing_to_check for r in rows),
            secret=Share.of(sum(r.secret_count or 0 for r in rows), sum(r.objects for r in rows)) if committed else None,
            seal=Share.of(sum(r.seal_count or 0 for r in rows), sum(r.objects for r in rows)) if condition == SEALED else None,
            posterior_entropy=Mean.of([r.posterior_entropy for r in posts], resamples) if posts else None,
            posterior_top_mass=Mean.of([r.posterior_top_mass for r in posts], resamples) if posts else None,
            posterior_secret_mass=Mean.of([r.posterior_secret_mass for r in secret_posts], resamples) if secret_posts else None,
            posterior_top_is_secret=Share.of(sum(r.posterior_top == g.secret for g in games for r in g.nodes[at:at + 1]
                                                 if r.posterior_top is not None), len(secret_posts)) if secret_posts else None,
        ))
    nodes = [n for g in games for n in g.nodes]
    labels = [lab for g in games for lab in g.labels]
    fits = [g.answers_fit_secret for g in games if g.answers_fit_secret is not None]
    return ConditionSummary(
        condition=condition,
        games=len(games),
        turns=turns,
        secret=Share.of(sum(n.secret_count or 0 for n in nodes), sum(n.objects for n in nodes)) if committed else None,
        seal=Share.of(sum(n.seal_count or 0 for n in nodes), sum(n.objects for n in nodes)) if condition == SEALED else None,
        chose=Share.of(sum(1 for g in games if g.chose), len(games)) if condition in CHOOSING else None,
        consistency=Share.of(sum(n.consistent for n in nodes), sum(n.consistent + n.contradicted for n in nodes)),
        answers_fit_secret=Mean.of(fits, resamples) if committed else None,
        invalid=Share.of(labels.count("invalid"), len(labels)),
        non_reveals=Share.of(sum(n.non_reveals for n in nodes), sum(n.k for n in nodes)),
        in_table=Share.of(sum(n.in_table for n in nodes), sum(n.objects for n in nodes)),
        **_mass_summary(games, committed, resamples),
    )


def _mass_summary(games: Sequence[GameResult], holds: bool, resamples: int) -> dict:
    tests = [(g, g.mass) for g in games if g.mass is not None]
    if not tests:
        return {}
    held = [(g, m) for g, m in tests if g.secret is not None]
    return {
        "mass_total": Mean.of([m.total for _, m in tests], resamples),
        "mass_top_p_yes": Mean.of([m.top_p_yes for _, m in tests if m.top_p_yes is not None], resamples),
        "mass_top_is_held": Share.of(sum(m.top == g.secret for g, m in held), len(held)) if holds else None,
        "mass_no_to_everything": Share.of(sum(m.no_to_everything for _, m in tests), len(tests)),
    }


def fallbacks(model: Model, exact: bool) -> list[str]:
    """What a batch on ``model`` falls back to, in words for the report."""
    caps = model.capabilities
    notes = []
    if not caps.logprobs:
        notes.append(f"{model.name} gives no logprobs: answers are parsed from the text (invalid when they cannot be), "
                     "and the mass test counts yes among sampled answers")
    if exact and not caps.score:
        notes.append(f"{model.name} cannot score continuations: no exact posterior, sampled reveals only")
    return notes


async def run_batch(
    model: Model,
    *,
    games: int = 20,
    turns: int = 6,
    k: int = 16,
    questions: Sequence[str] | None = None,
    questioner_factory: Callable[[], Questioner] | None = None,
    conditions: Sequence[str] = (UNCOMMITTED, COMMITTED),
    table: ObjectTable | None = None,
    judge: Model | None = None,
    config: GenerateConfig | None = None,
    exact: bool = False,
    concurrency: int = 4,
    seed: int = 0,
    progress: Progress | None = None,
    answer_format: str | None = AUTO,
    mass: bool = False,
) -> BatchResult:
    """Play ``games`` games per condition and resample every node.

    Questions: a fixed list (``questions``), a questioner per game (``questioner_factory``),
    or by default a seeded random order of the table's attribute questions per game.
    Committed games draw their secret from the table (seeded). ``summary.notes`` says what the
    run fell back to on this model (text answers without logprobs, no exact posterior without
    scoring).
    """
    table = table if table is not None else load_table()
    checker = FitChecker(table, judge)
    notes = fallbacks(model, exact)
    if answer_format == AUTO:
        answer_format = default_answer_format(model)
    exact = exact and model.capabilities.score
    plans = seeded_games(table, conditions, games, turns, seed, questions, questioner_factory)
    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0
    total = len(plans)
    if progress:
        progress(0, total, "starting")

    async def one(plan: GameSetup) -> tuple[Transcript, GameResult]:
        nonlocal done
        async with sem:
            game = Game.new(model, condition=plan.condition, secret=plan.secret, table=table, config=config,
                            answer_format=answer_format, questioner=plan.questioner.name, rng=plan.rng)
            game.use_judge(checker)
            out = await run_game(game, plan.questioner, turns=turns, k=k, exact=exact, config=config, mass=mass)
        done += 1
        if progress:
            progress(done, total, plan.condition)
        return game.transcript, out

    results = await asyncio.gather(*(one(p) for p in plans))
    transcripts = [t for t, _ in results]
    game_results = [g for _, g in results]
    summary = BatchSummary(
        model=model.name,
        questioner=plans[0].questioner.name if plans else "",
        games_per_condition=games,
        turns=turns,
        k=k,
        exact=exact,
        objects=table.name,
        candidates=len(table.objects),
        answers=answer_route(model),
        answer_format=answer_format,
        notes=notes,
        conditions={c: summarise(c, [g for g in game_results if g.condition == c]) for c in conditions},
    )
    return BatchResult(summary=summary, games=game_results, transcripts=transcripts)


def save_batch(result: BatchResult, out: str | Path) -> Path:
    """Write every transcript and ``summary.json`` (games included) under ``out``; returns the summary path."""
    from improv.transcripts.store import atomic_write, save

    out = Path(out)
    for t in result.transcripts:
        save(t, out / "transcripts")
    path = out / "summary.json"
    atomic_write(path, json.dumps(result.model_dump(mode="json"), indent=1))
    return path


# -- the figures a real-model yardstick prints ----------------------------------------------------

class ContrastRow(BaseModel):
    """Committed vs uncommitted at one turn, on sampled reveals and on the exact posterior."""

    at: int
    committed_entropy: Mean
    uncommitted_entropy: Mean
    committed_secret: Share | None = Field(None, description="Sampled object reveals naming the secret.")
    committed_exact_secret_mass: Mean | None = Field(None, description="Exact posterior mass on the secret.")
    committed_exact_top_mass: Mean | None = None
    uncommitted_exact_top_mass: Mean | None = Field(None, description="Exact posterior: largest mass on any object.")


class Headline(BaseModel):
    """What says whether a 20 Questions run measured anything (issue 16), each share with n and CI."""

    model: str
    answers: str = Field(description="'logprobs' (drawn from the model's distribution) or 'text' (parsed).")
    objects: str
    candidates: int
    notes: list[str]
    invalid: Share = Field(description="Invalid answers, both conditions.")
    readable_reveals: Share = Field(description="Sampled reveals that name a table object or are explicitly a non-reveal.")
    non_reveals: Share
    in_table: Share = Field(description="Object reveals inside the candidate set.")
    contrast: list[ContrastRow]


def headline(summary: BatchSummary, games: Sequence[GameResult], *, resamples: int = 500) -> Headline:
    nodes = [n for g in games for n in g.nodes]
    labels = [lab for g in games for lab in g.labels]
    c, u = summary.conditions.get(COMMITTED), summary.conditions.get(UNCOMMITTED)
    rows = []
    if c is not None and u is not None:
        for rc, ru in zip(c.turns, u.turns):
            rows.append(ContrastRow(at=rc.at, committed_entropy=rc.entropy, uncommitted_entropy=ru.entropy,
                                    committed_secret=rc.secret, committed_exact_secret_mass=rc.posterior_secret_mass,
                                    committed_exact_top_mass=rc.posterior_top_mass,
                                    uncommitted_exact_top_mass=ru.posterior_top_mass))
    return Headline(
        model=summary.model, answers=summary.answers, objects=summary.objects, candidates=summary.candidates,
        notes=summary.notes,
        invalid=Share.of(labels.count("invalid"), len(labels)),
        readable_reveals=Share.of(sum(n.in_table + n.non_reveals for n in nodes), sum(n.k for n in nodes)),
        non_reveals=Share.of(sum(n.non_reveals for n in nodes), sum(n.k for n in nodes)),
        in_table=Share.of(sum(n.in_table for n in nodes), sum(n.objects for n in nodes)),
        contrast=rows,
    )


async def twentyq_figures(
    model: Model,
    *,
    games: int = 20,
    turns: int = 6,
    k: int = 16,
    exact: bool = True,
    objects: str | None = "everyday",
    concurrency: int = 4,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[BatchResult, Headline]:
    """The issue-16 protocol on ``model``: ``games`` games per condition, ``turns`` random table
    questions, K reveals per node, the exact posterior where the backend scores; returns the
    batch and its `Headline`."""
    table = load_table(objects)
    result = await run_batch(model, games=games, turns=turns, k=k, table=table, exact=exact,
                             concurrency=concurrency, seed=seed, progress=progress)
    return result, headline(result.summary, result.games)
