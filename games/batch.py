"""Batch: N games per condition, each resampled at every turn; a per-turn summary.

Games run concurrently (``asyncio.gather`` under a semaphore). For every game and every node
``t = 0..T`` the reveal is resampled K times in one n=K call, canonicalised and checked
against the answers given so far. The summary gives, per condition and turn: the reveal
entropy (mean over games with a bootstrap interval), distinct reveals, the share of reveals
that fit every earlier answer, how many table objects remain possible, and for committed games
the share of reveals naming the secret.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import fmean

from pydantic import BaseModel, Field

from agents.model import Model
from agents.types import GenerateConfig
from evaluator.stats import bootstrap_interval, wilson_interval
from transcripts.schema import Transcript

from .analysis import analyse_node, exact_posterior
from .engine import COMMITTED, UNCOMMITTED, Questioner, ScriptQuestioner, play_game
from .fit import FitChecker
from .table import ObjectTable, load_table

Progress = Callable[[int, int, str], None]


class NodeStats(BaseModel):
    at: int
    entropy_bits: float
    distinct: int
    top: str | None
    top_mass: float
    consistent: int
    contradicted: int
    undecided: int
    remaining: int
    secret_share: float | None = None
    posterior_entropy: float | None = None


class GameResult(BaseModel):
    transcript_id: str
    condition: str
    secret: str | None
    questions: list[str]
    labels: list[str]
    answers_fit_secret: float | None = Field(None, description="Committed: share of yes/no answers the table agrees with.")
    nodes: list[NodeStats]


class TurnSummary(BaseModel):
    at: int
    games: int
    entropy_mean: float
    entropy_ci: tuple[float, float]
    distinct_mean: float
    remaining_mean: float
    consistency_share: float | None
    consistency_ci: tuple[float, float] | None
    undecided: int
    secret_share: float | None = None
    posterior_entropy_mean: float | None = None


class ConditionSummary(BaseModel):
    condition: str
    games: int
    turns: list[TurnSummary]
    secret_share: float | None = Field(None, description="Committed: share of all reveals naming the secret.")
    consistency_share: float | None = Field(None, description="Share of all decided reveals that fit every earlier answer.")
    answers_fit_secret: float | None = None
    invalid_answers: float = 0.0


class BatchSummary(BaseModel):
    model: str
    questioner: str
    games_per_condition: int
    turns: int
    k: int
    exact: bool
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


async def run_game(
    model: Model,
    questioner: Questioner,
    *,
    secret: str | None,
    turns: int,
    k: int,
    table: ObjectTable,
    checker: FitChecker,
    config: GenerateConfig | None = None,
    exact: bool = False,
) -> tuple[Transcript, GameResult]:
    transcript = await play_game(model, questioner, secret=secret, turns=turns, config=config, table=table)
    qas = transcript.meta.get("questions", 0)
    nodes: list[NodeStats] = []
    for at in range(qas + 1):
        node = await analyse_node(transcript, model, at=at, k=k, table=table, checker=checker, config=config)
        post = await exact_posterior(transcript, model, at=at, table=table) if exact else None
        d = node.sample.distribution
        nodes.append(NodeStats(
            at=at, entropy_bits=d.entropy_bits, distinct=d.distinct, top=d.top, top_mass=d.top_mass,
            consistent=node.consistency.consistent, contradicted=node.consistency.contradicted,
            undecided=node.consistency.undecided, remaining=len(node.remaining), secret_share=node.secret_share,
            posterior_entropy=post.entropy_bits if post else None,
        ))
    from .engine import main_line

    line = main_line(transcript)
    fit_secret = None
    if secret is not None:
        decided = [(checker.truth_from_table(secret, qa.question), qa.label) for qa in line if qa.label in ("yes", "no")]
        decided = [(t, lab) for t, lab in decided if t is not None]
        if decided:
            fit_secret = sum(1 for t, lab in decided if t == (lab == "yes")) / len(decided)
    return transcript, GameResult(
        transcript_id=transcript.id,
        condition=transcript.meta["condition"],
        secret=secret,
        questions=[qa.question for qa in line],
        labels=[qa.label for qa in line],
        answers_fit_secret=fit_secret,
        nodes=nodes,
    )


def summarise(condition: str, games: Sequence[GameResult], *, resamples: int = 500) -> ConditionSummary:
    max_at = max((len(g.nodes) for g in games), default=0)
    turns: list[TurnSummary] = []
    for at in range(max_at):
        rows = [g.nodes[at] for g in games if len(g.nodes) > at]
        ents = [r.entropy_bits for r in rows]
        ok = sum(r.consistent for r in rows)
        bad = sum(r.contradicted for r in rows)
        shares = [r.secret_share for r in rows if r.secret_share is not None]
        posts = [r.posterior_entropy for r in rows if r.posterior_entropy is not None]
        turns.append(TurnSummary(
            at=at, games=len(rows), entropy_mean=fmean(ents),
            entropy_ci=bootstrap_interval(ents, fmean, resamples=resamples),
            distinct_mean=fmean(r.distinct for r in rows), remaining_mean=fmean(r.remaining for r in rows),
            consistency_share=ok / (ok + bad) if ok + bad else None,
            consistency_ci=wilson_interval(ok, ok + bad) if ok + bad else None,
            undecided=sum(r.undecided for r in rows),
            secret_share=fmean(shares) if shares else None,
            posterior_entropy_mean=fmean(posts) if posts else None,
        ))
    all_nodes = [n for g in games for n in g.nodes]
    ok = sum(n.consistent for n in all_nodes)
    bad = sum(n.contradicted for n in all_nodes)
    shares = [n.secret_share for n in all_nodes if n.secret_share is not None]
    fits = [g.answers_fit_secret for g in games if g.answers_fit_secret is not None]
    labels = [lab for g in games for lab in g.labels]
    return ConditionSummary(
        condition=condition,
        games=len(games),
        turns=turns,
        secret_share=fmean(shares) if shares else None,
        consistency_share=ok / (ok + bad) if ok + bad else None,
        answers_fit_secret=fmean(fits) if fits else None,
        invalid_answers=(labels.count("invalid") / len(labels)) if labels else 0.0,
    )


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
) -> BatchResult:
    """Play ``games`` games per condition and resample every node.

    Questions: a fixed list (``questions``), a questioner per game (``questioner_factory``),
    or by default a seeded random order of the table's attribute questions per game.
    Committed games draw their secret from the table (seeded).
    """
    table = table if table is not None else load_table()
    checker = FitChecker(table, judge)
    rng = random.Random(seed)
    plans: list[tuple[str, str | None, Questioner]] = []
    for condition in conditions:
        for _ in range(games):
            secret = rng.choice(table.objects) if condition == COMMITTED else None
            if questioner_factory is not None:
                q: Questioner = questioner_factory()
            elif questions is not None:
                q = ScriptQuestioner(list(questions), name="script")
            else:
                q = ScriptQuestioner(table_questions(table, turns, rng), name="table-random")
            plans.append((condition, secret, q))
    sem = asyncio.Semaphore(max(1, concurrency))
    done = 0
    total = len(plans)
    if progress:
        progress(0, total, "starting")

    async def one(plan: tuple[str, str | None, Questioner]):
        nonlocal done
        condition, secret, q = plan
        async with sem:
            out = await run_game(model, q, secret=secret, turns=turns, k=k, table=table, checker=checker,
                                 config=config, exact=exact)
        done += 1
        if progress:
            progress(done, total, condition)
        return out

    results = await asyncio.gather(*(one(p) for p in plans))
    transcripts = [t for t, _ in results]
    game_results = [g for _, g in results]
    summary = BatchSummary(
        model=model.name,
        questioner=plans[0][2].name if plans else "",
        games_per_condition=games,
        turns=turns,
        k=k,
        exact=exact,
        conditions={c: summarise(c, [g for g in game_results if g.condition == c]) for c in conditions},
    )
    return BatchResult(summary=summary, games=game_results, transcripts=transcripts)


def save_batch(result: BatchResult, out: str | Path) -> Path:
    """Write every transcript and ``summary.json`` (games included) under ``out``; returns the summary path."""
    from transcripts.store import atomic_write, save

    out = Path(out)
    for t in result.transcripts:
        save(t, out / "transcripts")
    path = out / "summary.json"
    atomic_write(path, json.dumps(result.model_dump(mode="json"), indent=1))
    return path
