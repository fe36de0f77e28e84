"""How replayed replies differ from recorded ones, and the run summary.

- exact match: the new reply equals the recorded one (surrounding whitespace ignored);
- judge agreement: a judge `Model` answers whether the two replies agree in substance (1/0),
  only where a judge is configured;
- usage (tokens) as the provider reports it, and cost where prices are known.

`summarize(records)` reads the results records (last record per item wins, so a failed item
that a later ``--resume --retry-failed`` fixed counts as done) and builds the summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from improv.agents.judge import Judge
from improv.agents.model import Model
from improv.agents.types import Message

from ..schema import Transcript

JUDGE_PROMPT = """You compare two replies to the same conversation.

Conversation so far:
$context

Reply A:
$a

Reply B:
$b

Do reply A and reply B agree in substance (same answer, same claims, same decision)? \
Answer with one word: yes or no."""


def same(recorded: str | None, new: str) -> bool:
    return recorded is not None and recorded.strip() == new.strip()


def _context(history: Sequence[Message], limit: int = 4000) -> str:
    text = "\n".join(f"{m.role}: {m.content}" for m in history if m.role != "system")
    return text[-limit:] if len(text) > limit else text


def parse_verdict(text: str) -> float | None:
    words = text.strip().lower().lstrip("*\"'`").split()
    if not words:
        return None
    first = words[0].strip(".,!:;*\"'`")
    if first in ("yes", "agree", "same"):
        return 1.0
    if first in ("no", "disagree", "different"):
        return 0.0
    return None


async def judge_agreement(judge: Model | Judge, history: Sequence[Message], recorded: str, new: str) -> float | None:
    """1.0 if the judge says the replies agree, 0.0 if not, None if its answer is unreadable."""
    judge = judge if isinstance(judge, Judge) else Judge(judge)
    reply = await judge.ask_template(JUDGE_PROMPT, name="agreement", max_tokens=5,
                                     context=_context(history) or "(empty)", a=recorded, b=new)
    return parse_verdict(reply.raw)


class Prices(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)

    def cost(self, usage: dict[str, int]) -> float:
        return (usage.get("input_tokens", 0) * self.input + usage.get("output_tokens", 0) * self.output) / 1e6


class ConversationSummary(BaseModel):
    id: str
    origin: str | None = None
    status: str
    error: str | None = None
    exact_match: float | None = None
    compared: int = 0
    judge: float | None = None
    score: float | None = None
    usage: dict[str, int] = Field(default_factory=dict)
    cost: float | None = None


class Overall(BaseModel):
    conversations: int = 0
    done: int = 0
    failed: int = 0
    compared: int = Field(0, description="Replies that had a recorded reply to compare with.")
    matches: int = Field(0, description="Compared replies equal to the recorded one.")
    exact_match: float | None = Field(None, description="Share of compared replies equal to the recorded one.")
    judged: int = Field(0, description="Replies the judge gave a readable verdict on.")
    judge: float | None = Field(None, description="Mean judge agreement over judged replies.")
    score: float | None = Field(None, description="Mean numeric score (rescore).")
    usage: dict[str, int] = Field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0})
    cost: float | None = None
    failures: dict[str, int] = Field(default_factory=dict, description="Failure reasons, counted.")


class Summary(BaseModel):
    overall: Overall
    conversations: list[ConversationSummary]


def latest(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each item id, in first-seen order."""
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        out[r["id"]] = r
    return out


def summarize(records: Iterable[dict[str, Any]], prices: Prices | None = None) -> Summary:
    overall = Overall()
    rows: list[ConversationSummary] = []
    matches = 0
    judge_sum = judge_n = 0.0
    score_sum = score_n = 0.0
    for r in latest(records).values():
        usage = r.get("usage") or {}
        row = ConversationSummary(
            id=r["id"], origin=r.get("origin"), status=r["status"], error=r.get("error"),
            exact_match=r.get("exact_match"), compared=r.get("compared", 0), judge=r.get("judge"),
            score=r.get("score"), usage=usage, cost=prices.cost(usage) if prices and usage else None,
        )
        rows.append(row)
        overall.conversations += 1
        if r["status"] != "ok":
            overall.failed += 1
            reason = (r.get("error") or "unknown").split(":", 1)[0]
            overall.failures[reason] = overall.failures.get(reason, 0) + 1
            continue
        overall.done += 1
        overall.compared += row.compared
        matches += r.get("matches", 0)
        for t in r.get("turns") or []:
            for s in t.get("judge") or []:
                if s is not None:
                    judge_sum += s
                    judge_n += 1
        if row.score is not None:
            score_sum += row.score
            score_n += 1
        for key in ("input_tokens", "output_tokens"):
            overall.usage[key] = overall.usage.get(key, 0) + int(usage.get(key, 0))
    overall.matches = matches
    overall.judged = int(judge_n)
    overall.exact_match = matches / overall.compared if overall.compared else None
    overall.judge = judge_sum / judge_n if judge_n else None
    overall.score = score_sum / score_n if score_n else None
    overall.cost = prices.cost(overall.usage) if prices else None
    return Summary(overall=overall, conversations=rows)


def exact_scorer(transcript: Transcript) -> dict[str, Any]:
    """Built-in rescore scorer ``exact``.

    For a replay transcript: the share of replayed replies equal to the recorded ones. For any
    other transcript: the share of assistant branch points whose sibling replies (regenerations)
    are all identical, a crude consistency score.
    """
    replayed = [t for t in transcript.turns if t.role == "assistant" and "recorded" in t.meta]
    if replayed:
        hits = sum(same(t.meta["recorded"], t.content) for t in replayed)
        return {"score": hits / len(replayed), "compared": len(replayed), "kind": "recorded"}
    groups: dict[str | None, list[str]] = {}
    for t in transcript.turns:
        if t.role == "assistant":
            groups.setdefault(t.parent, []).append(t.content.strip())
    if not groups:
        return {"score": None, "compared": 0, "kind": "siblings"}
    agree = sum(len(set(v)) == 1 for v in groups.values())
    return {"score": agree / len(groups), "compared": len(groups), "kind": "siblings"}
