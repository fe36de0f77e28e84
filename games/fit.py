"""Does an object fit an earlier (question, answer) pair?

Decided, in order, by:
1. a direct guess ("Is it a cat?"): yes fits only the guessed object;
2. the object table, when both the object and the question's attribute are in it;
3. a judge model (`improv.agents.judge.Judge`), asked about one (object, question) pair at a
   time, statelessly, at temperature 0 (prompt: ``games/prompts/fit_judge.txt``); its verdicts
   are cached;
4. otherwise undecided (None).

Answers other than yes/no (unsure, invalid) constrain nothing: they are not checkable (None),
never counted as a fit.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from improv.agents.judge import Judge
from improv.agents.model import Model

from .answers import LabelSet, guessed_object, parse_answer
from .table import ObjectTable

PROMPTS = Path(__file__).parent / "prompts"


def prompt_text(name: str) -> str:
    """A prompt file's text (the questioner's prompts; the fit judge reads its own through `Judge`)."""
    return (PROMPTS / name).read_text(encoding="utf-8")


class FitChecker:
    def __init__(self, table: ObjectTable | None, judge: Model | None = None, labels: LabelSet | None = None) -> None:
        self.table = table
        self.judge = judge
        self._judge = Judge(judge, prompts=PROMPTS, max_tokens=4) if judge is not None else None
        self.labels = labels or LabelSet()
        self._judge_cache: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.judge_calls = 0

    def truth_from_table(self, obj: str, question: str) -> bool | None:
        """The true answer to ``question`` for ``obj`` per the table (or a guess), else None."""
        guess = guessed_object(question)
        if guess is not None and self.table is not None:
            canon = self.table.canonical(guess)
            if canon is not None:
                return canon == obj
        if self.table is None or obj not in self.table.objects:
            return None
        key = self.table.attribute_for_question(question)
        if key is None:
            return None
        return self.table.value(obj, key)

    async def judge_truth(self, obj: str, question: str) -> bool | None:
        if self._judge is None:
            return None
        key = (obj, question)
        if key not in self._judge_cache:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:
                if key not in self._judge_cache:
                    self.judge_calls += 1
                    reply = await self._judge.ask("fit_judge", object=obj, question=question)
                    self._judge_cache[key] = parse_answer(reply.raw, self.labels)
        verdict = self._judge_cache[key]
        return {"yes": True, "no": False}.get(verdict)

    async def truth(self, obj: str, question: str) -> tuple[bool | None, str]:
        """(true answer or None, source: 'table' | 'judge' | 'none')."""
        t = self.truth_from_table(obj, question)
        if t is not None:
            return t, "table"
        j = await self.judge_truth(obj, question)
        if j is not None:
            return j, "judge"
        return None, "none"

    async def fits(self, obj: str, question: str, label: str) -> bool | None:
        """Fits, contradicts, or None: undecided, or not checkable (an answer other than yes/no)."""
        if label not in ("yes", "no"):
            return None
        truth, _ = await self.truth(obj, question)
        if truth is None:
            return None
        return truth == (label == "yes")

    def possible(self, pairs: list[tuple[str, str]]) -> list[str]:
        """Table objects that no yes/no answer in ``pairs`` ((question, label)) rules out by the
        table or a direct guess: the one definition of "objects still possible"."""
        if self.table is None:
            return []
        decided = [(q, lab == "yes") for q, lab in pairs if lab in ("yes", "no")]
        return [o for o in self.table.objects
                if all((t := self.truth_from_table(o, q)) is None or t == yes for q, yes in decided)]

    async def fit_all(self, obj: str, pairs: list[tuple[str, str]]) -> list[bool | None]:
        """Per earlier (question, label) pair: does ``obj`` fit it."""
        return list(await asyncio.gather(*(self.fits(obj, q, lab) for q, lab in pairs)))
