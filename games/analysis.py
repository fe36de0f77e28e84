"""Analysis at any node of a game: resample the reveal, check consistency, the mass test,
answer flips, and the exact posterior over candidate objects.

A node is a turn number ``at``: the state after ``at`` answered questions (0 = before the
first question). Resampled turns are added to the transcript as sibling branches, never as
the active line.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from pydantic import BaseModel, Field

from improv.agents.errors import CapabilityError, ConfigError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message
from improv.transcripts.schema import Transcript, Turn, reply_turn

from .answers import LabelSet, Reveal, answer_distribution, article, draw_label, parse_answer
from .engine import (
    GIVE_UP,
    QA,
    answer_config,
    answer_turn,
    answerer_for,
    ask_text,
    scored_answer,
    check_game,
    reveal_meta,
    table_for,
)
from .fit import FitChecker
from .metrics import (
    Consistency,
    FlipSummary,
    MassTest,
    Posterior,
    RevealDistribution,
    RevealFit,
    consistency,
    flip_summary,
    information_gain,
    mass_test_summary,
    posterior_from_scores,
    reveal_distribution,
    reveal_fit,
)

#: candidates per score() call: bounds what a scorer that builds [candidates, length, vocab]
#: logits holds at once (hf/ bounds its own memory; other backends may not)
SCORE_CHUNK = 64
from .table import ObjectTable


def _labels(transcript: Transcript) -> LabelSet:
    stored = transcript.meta.get("labels")
    return LabelSet(labels=stored) if isinstance(stored, dict) and stored else LabelSet()


def _node(transcript: Transcript, at: int | None) -> tuple[list[QA], int]:
    qas = check_game(transcript)
    if at is None:
        at = len(qas)
    if not 0 <= at <= len(qas):
        raise ConfigError(f"--at {at}: the game has {len(qas)} answered questions (use 0..{len(qas)})")
    return qas[:at], at


def _history(qas: Sequence[QA]) -> list[Message]:
    out: list[Message] = []
    for qa in qas:
        out.append(Message(role="user", content=qa.prompt or qa.question))
        out.append(Message(role="assistant", content=qa.answer))
    return out


def remaining(table: ObjectTable, qas: Sequence[QA]) -> list[str]:
    """Table objects consistent with every yes/no answer about a known attribute or guess."""
    checker = FitChecker(table)
    out = []
    for obj in table.objects:
        ok = True
        for qa in qas:
            if qa.label not in ("yes", "no"):
                continue
            truth = checker.truth_from_table(obj, qa.question)
            if truth is not None and truth != (qa.label == "yes"):
                ok = False
                break
        if ok:
            out.append(obj)
    return out


def _give_up_turn(transcript: Transcript, parent: str | None, at: int) -> Turn:
    for t in transcript.children(parent):
        if t.role == "user" and t.meta.get("give_up"):
            return t
    return transcript.add(Turn(parent=parent, role="user", content=GIVE_UP,
                               meta={"kind": "question", "give_up": True, "number": at}), activate=False)


class RevealSample(BaseModel):
    at: int
    k: int
    texts: list[str]
    objects: list[str] = Field(description="Per sample: the object named, or '(non-reveal)'.")
    reveals: list[Reveal] = Field(default_factory=list)
    distribution: RevealDistribution
    turn_ids: list[str] = Field(default_factory=list)


async def resample_reveal(
    transcript: Transcript,
    model: Model,
    *,
    at: int | None = None,
    k: int = 16,
    table: ObjectTable | None = None,
    config: GenerateConfig | None = None,
) -> RevealSample:
    """Ask "I give up, what was it?" after ``at`` answers, K times in ONE n=K call."""
    table = table if table is not None else table_for(transcript)
    qas, at = _node(transcript, at)
    agent = answerer_for(transcript, model)
    parent = qas[-1].answer_id if qas else None
    give_up = _give_up_turn(transcript, parent, at)
    completion = await agent.respond([*_history(qas), give_up.message()], GenerateConfig(n=k).merged(config))
    persona = next(iter(transcript.personas), None)
    labels = _labels(transcript)
    texts, objects, reveals, ids = [], [], [], []
    for choice in completion.choices:
        reveal, meta = reveal_meta(choice.text, table, choice.finish_reason, labels)
        turn = transcript.add(reply_turn(agent, give_up.id, choice, completion, persona=persona,
                                          meta={"kind": "reveal", "at": at, **meta, "resampled": True}), activate=False)
        texts.append(choice.text)
        objects.append(reveal.label)
        reveals.append(reveal)
        ids.append(turn.id)
    return RevealSample(at=at, k=len(objects), texts=texts, objects=objects, reveals=reveals,
                        distribution=reveal_distribution(reveals), turn_ids=ids)


async def check_reveals(objects: Sequence[str], qas: Sequence[QA], checker: FitChecker) -> tuple[list[RevealFit], Consistency]:
    """Fit of each object reveal to the earlier answers; non-reveals are left out (counted elsewhere)."""
    from .answers import NON_REVEAL

    objects = [o for o in objects if o != NON_REVEAL]
    pairs = [(qa.question, qa.label) for qa in qas]
    checkable = [qa.label in ("yes", "no") for qa in qas]
    cache: dict[str, RevealFit] = {}
    for obj in dict.fromkeys(objects):
        cache[obj] = reveal_fit(obj, await checker.fit_all(obj, pairs), checkable)
    fits = [cache[o] for o in objects]
    return fits, consistency(fits)


class NodeAnalysis(BaseModel):
    at: int
    condition: str | None
    secret: str | None
    remaining: list[str] = Field(description="Table objects still consistent with the answers.")
    sample: RevealSample
    fits: dict[str, RevealFit] = Field(description="Per distinct revealed object.")
    consistency: Consistency
    secret_share: float | None = Field(None, description="Committed games: share of the object reveals naming the secret "
                                                           "(n = sample.distribution.objects); None when none named an object.")
    posterior: Posterior | None = None


async def analyse_node(
    transcript: Transcript,
    model: Model,
    *,
    at: int | None = None,
    k: int = 16,
    table: ObjectTable | None = None,
    checker: FitChecker | None = None,
    exact: bool = False,
    config: GenerateConfig | None = None,
) -> NodeAnalysis:
    table = table if table is not None else table_for(transcript)
    checker = checker or FitChecker(table, labels=_labels(transcript))
    sample = await resample_reveal(transcript, model, at=at, k=k, table=table, config=config)
    qas, _ = _node(transcript, sample.at)
    fits, cons = await check_reveals(sample.objects, qas, checker)
    secret = transcript.meta.get("secret")
    post = await exact_posterior(transcript, model, at=sample.at, table=table) if exact else None
    return NodeAnalysis(
        at=sample.at,
        condition=transcript.meta.get("condition"),
        secret=secret,
        remaining=remaining(table, qas),
        sample=sample,
        fits={f.object: f for f in fits},
        consistency=cons,
        secret_share=sample.distribution.share(secret) if secret else None,
        posterior=post,
    )


# -- exact posterior ---------------------------------------------------------------------------

def reveal_sentence(obj: str) -> str:
    return f"It was {article(obj)}."


async def exact_posterior(
    transcript: Transcript,
    model: Model,
    *,
    at: int | None = None,
    candidates: Sequence[str] | None = None,
    table: ObjectTable | None = None,
) -> Posterior:
    """P(object) ∝ P("It was a X." | history, "I give up, what was it?"), scored in chunks of
    `SCORE_CHUNK` candidates (a scorer that builds full-vocabulary logits per candidate stays in memory)."""
    if not model.capabilities.score:
        raise CapabilityError(f"{model.name}: the exact posterior needs a backend that can score continuations (hf/, organism)")
    table = table if table is not None else table_for(transcript)
    candidates = list(candidates or table.objects)
    qas, at = _node(transcript, at)
    agent = answerer_for(transcript, model)
    messages = agent.messages([*_history(qas), Message(role="user", content=GIVE_UP)])
    sentences = [reveal_sentence(c) for c in candidates]
    scores: list[float] = []
    for i in range(0, len(sentences), SCORE_CHUNK):
        scores += await model.score(messages, sentences[i:i + SCORE_CHUNK])
    return posterior_from_scores(candidates, scores)


class PosteriorCurve(BaseModel):
    posteriors: list[Posterior]
    entropies: list[float]
    information_gain: list[float] = Field(description="Bits gained by question t (t = 1..T).")
    questions: list[str]


async def posterior_curve(transcript: Transcript, model: Model, *, table: ObjectTable | None = None,
                          candidates: Sequence[str] | None = None) -> PosteriorCurve:
    qas = check_game(transcript)
    posts = [await exact_posterior(transcript, model, at=t, table=table, candidates=candidates) for t in range(len(qas) + 1)]
    ents = [p.entropy_bits for p in posts]
    return PosteriorCurve(posteriors=posts, entropies=ents, information_gain=information_gain(ents),
                          questions=[qa.question for qa in qas])


# -- the mass test and answer flips ------------------------------------------------------------

async def mass_test(
    transcript: Transcript,
    model: Model,
    *,
    at: int | None = None,
    candidates: Sequence[str] | None = None,
    k: int = 8,
    table: ObjectTable | None = None,
    record: bool = True,
) -> MassTest:
    """Ask "Is it X?" for each candidate in its own branch; sum P(yes).

    P(yes) is P(yes | yes or no) at the first token where the backend gives logprobs (one
    sample each), else the share of yes among ``k`` parsed samples (invalid ones count as not
    yes). The result says beside Σ how the mass is spread and flags "no to everything".
    """
    table = table if table is not None else table_for(transcript)
    candidates = list(candidates or table.objects)
    qas, at = _node(transcript, at)
    labels = _labels(transcript)
    agent = answerer_for(transcript, model)
    parent = qas[-1].answer_id if qas else None
    use_logprobs = model.capabilities.logprobs
    persona = next(iter(transcript.personas), None)
    fmt = transcript.meta.get("answer_format")
    rng = random.Random(0)
    others: list[float] = []

    async def one(obj: str) -> float:
        question = ask_text(f"Is it {article(obj)}?", fmt)
        cfg = answer_config(model, GenerateConfig(n=1 if use_logprobs else k))
        history = [*_history(qas), Message(role="user", content=question)]
        completion = await agent.respond(history, cfg)
        if record:
            q_turn = transcript.add(Turn(parent=parent, role="user", content=question,
                                         meta={"kind": "question", "probe": "mass", "number": at + 1}), activate=False)
            for choice in completion.choices:
                transcript.add(await answer_turn(agent, q_turn.id, history, choice, completion, labels, rng,
                                                 persona=persona, meta={"kind": "answer", "probe": "mass"}, config=cfg),
                               activate=False)
        if use_logprobs:
            choice = completion.choices[0]
            dist = answer_distribution(choice.logprobs, labels)
            if dist is None or dist.p_yes_given_answer is None:
                dist = await scored_answer(agent, history, choice, labels)
            if dist is not None and dist.p_yes_given_answer is not None:
                others.append(dist.p_other)
                return dist.p_yes_given_answer
        chosen = [parse_answer(c.text, labels) for c in completion.choices]
        return sum(1 for lab in chosen if lab == "yes") / len(chosen)

    values = await asyncio.gather(*(one(c) for c in candidates))
    per = dict(zip(candidates, values))
    return mass_test_summary(per, source="logprobs" if use_logprobs else "samples", k=1 if use_logprobs else k,
                             p_other=others)


async def answer_flips(
    transcript: Transcript,
    model: Model,
    *,
    question: int,
    k: int = 16,
    seed: int = 0,
) -> FlipSummary:
    """Resample the answer to question ``question`` (1-based) K times: in one n=K call, or where
    the backend gives logprobs, K labels drawn from one call's answer distribution."""
    qas = check_game(transcript)
    if not 1 <= question <= len(qas):
        raise ConfigError(f"question {question}: the game has questions 1..{len(qas)}")
    labels = _labels(transcript)
    agent = answerer_for(transcript, model)
    target = qas[question - 1]
    n = 1 if model.capabilities.logprobs else k
    history = [*_history(qas[: question - 1]), Message(role="user", content=target.prompt or target.question)]
    cfg = answer_config(model, GenerateConfig(n=n))
    completion = await agent.respond(history, cfg)
    persona = next(iter(transcript.personas), None)
    rng = random.Random(seed)
    choices = completion.choices if n == k else [completion.choices[0]] * k
    got, pys = [], []
    for choice in choices:
        turn = transcript.add(await answer_turn(agent, target.question_id, history, choice, completion, labels, rng,
                                                persona=persona, meta={"kind": "answer", "number": question,
                                                                       "resampled": True}, config=cfg), activate=False)
        got.append(turn.meta["label"])
        pys.append(turn.meta.get("p_yes"))
    return flip_summary(got, target.label, pys)


__all__ = [
    "NodeAnalysis", "PosteriorCurve", "RevealSample", "analyse_node", "answer_flips", "check_reveals",
    "exact_posterior", "mass_test", "posterior_curve", "remaining", "resample_reveal", "reveal_sentence",
]
