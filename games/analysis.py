"""Analysis at a node of a saved game, as functions over a transcript: each opens the game
(`games.game.Game`) and calls the method of the same name, where the work is done. Kept for
callers that hold a transcript (benchmarks, scripts); a front end that keeps a game keeps the
`Game` and its cached analysis instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from improv.agents.model import Model
from improv.agents.types import GenerateConfig
from improv.transcripts.schema import Transcript

from .engine import QA
from .fit import FitChecker
from .game import Game, NodeAnalysis, PosteriorCurve, RevealSample, reveal_sentence
from .metrics import Consistency, FlipSummary, MassTest, Posterior, RevealFit, consistency, reveal_fit
from .table import ObjectTable


def remaining(table: ObjectTable, qas: Sequence[QA]) -> list[str]:
    """Table objects consistent with every yes/no answer about a known attribute or guess."""
    return FitChecker(table).possible([(qa.question, qa.label) for qa in qas])


async def check_reveals(objects: Sequence[str], qas: Sequence[QA], checker: FitChecker) -> tuple[list[RevealFit], Consistency]:
    """Fit of each object reveal to the answers ``qas``; non-reveals are left out (counted elsewhere)."""
    from .answers import NON_REVEAL

    objects = [o for o in objects if o != NON_REVEAL]
    pairs = [(qa.question, qa.label) for qa in qas]
    checkable = [qa.label in ("yes", "no") for qa in qas]
    cache = {obj: reveal_fit(obj, await checker.fit_all(obj, pairs), checkable) for obj in dict.fromkeys(objects)}
    fits = [cache[o] for o in objects]
    return fits, consistency(fits)


def _game(transcript: Transcript, model: Model, table: ObjectTable | None = None) -> Game:
    return Game(transcript, model, table=table)


async def resample_reveal(transcript: Transcript, model: Model, *, at: int | None = None, k: int = 16,
                          table: ObjectTable | None = None, config: GenerateConfig | None = None) -> RevealSample:
    return await _game(transcript, model, table).resample(at, k=k, config=config)


async def analyse_node(transcript: Transcript, model: Model, *, at: int | None = None, k: int = 16,
                       table: ObjectTable | None = None, checker: FitChecker | None = None, exact: bool = False,
                       config: GenerateConfig | None = None) -> NodeAnalysis:
    game = _game(transcript, model, table)
    if checker is not None:
        game.use_judge(checker)
    return await game.analyse(at, k=k, exact=exact, config=config)


async def exact_posterior(transcript: Transcript, model: Model, *, at: int | None = None,
                          candidates: Sequence[str] | None = None, table: ObjectTable | None = None) -> Posterior:
    return await _game(transcript, model, table).exact_posterior(at, candidates)


async def posterior_curve(transcript: Transcript, model: Model, *, table: ObjectTable | None = None,
                          candidates: Sequence[str] | None = None) -> PosteriorCurve:
    return await _game(transcript, model, table).posterior_curve(candidates)


async def mass_test(transcript: Transcript, model: Model, *, at: int | None = None, candidates: Sequence[str] | None = None,
                    k: int = 8, table: ObjectTable | None = None, record: bool = True) -> MassTest:
    return await _game(transcript, model, table).mass_test(at, candidates=candidates, k=k, record=record)


async def answer_flips(transcript: Transcript, model: Model, *, question: int, k: int = 16, seed: int = 0) -> FlipSummary:
    return await _game(transcript, model).flips(question, k=k, seed=seed)


__all__ = [
    "NodeAnalysis", "PosteriorCurve", "RevealSample", "analyse_node", "answer_flips", "check_reveals",
    "exact_posterior", "mass_test", "posterior_curve", "remaining", "resample_reveal", "reveal_sentence",
]
