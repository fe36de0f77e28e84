"""Replay modes: what happens to one conversation.

- `Regenerate`: keep every recorded user turn and the recorded history, and regenerate each
  assistant turn (or only the last) with the new agent, K samples each. A conversation that
  ends with a user turn (a prompt dataset) gets a reply to that turn.
- In both generating modes a greeting (an assistant turn before any user turn, as a persona's
  first message) is recorded context: kept as it was, never regenerated, never compared. Each
  reply is made with the recorded reply's sampling settings (temperature, top_p, max_tokens,
  stop) unless the new agent sets them.
- `Rerun`: feed the recorded user turns to the new agent one by one; its own replies become the
  history.
- `Rescore`: apply a per-transcript scorer handed in by the front end (20 Questions metrics,
  the falsehood classifier, ...) without generating anything. This package never imports
  `games` or `evaluator`: the scorer is just a function.

A mode is an async callable ``mode(item) -> ItemResult``; the runner does the rest.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from improv.agents.agent import Agent
from improv.agents.model import Model
from improv.agents.types import Completion, GenerateConfig, Message

from ..schema import Transcript, Turn
from .compare import judge_agreement, same
from .inputs import ReplayItem


def _new_id() -> str:
    """A 12-hex-digit id like `transcripts.schema.new_id`, without a urandom syscall per turn
    (uuid4 costs a system call, thousands of times in a large replay)."""
    return f"{random.getrandbits(48):012x}"


@dataclass
class ItemResult:
    """What a mode made of one conversation: the results record and the new transcript."""

    record: dict[str, Any]
    transcript: Transcript | None = None


#: sampling settings a replay reuses from the recorded reply (not n, seed or logprobs: those
#: belong to the replay run)
_RECORDED_SETTINGS = {"temperature", "top_p", "max_tokens", "stop"}


def greeting(path: list[Turn], index: int) -> bool:
    """An assistant turn with no user turn before it: a persona's greeting, not a reply."""
    return path[index].role == "assistant" and not any(t.role == "user" for t in path[:index])


@dataclass
class _Target:
    index: int  # position in the recorded path the new reply takes
    recorded: Turn | None  # the recorded assistant turn there, if any


@dataclass
class Reply:
    target: _Target
    completion: Completion
    system_prompt: str | None
    judge: list[float | None] = field(default_factory=list)


def _usage_dict(replies: list[Reply]) -> dict[str, int]:
    i = o = 0
    for r in replies:
        i += r.completion.usage.input_tokens
        o += r.completion.usage.output_tokens
    return {"input_tokens": i, "output_tokens": o}


class _Generating:
    """Shared by `Regenerate` and `Rerun`: building the messages, the record, the transcript."""

    name = "generate"

    def __init__(self, agent: Agent, *, k: int = 1, judge: Model | None = None) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.agent = agent
        self.k = k
        self.judge = judge
        self.config: GenerateConfig = agent.config.merged(GenerateConfig(n=k)) if k != 1 else agent.config
        self._persona_system = agent.system_prompt if agent.persona is not None else None

    @property
    def model(self) -> Model:
        return self.agent.model

    def config_for(self, recorded: Turn | None) -> GenerateConfig:
        """The recorded reply's sampling settings, under what the new agent sets explicitly."""
        if recorded is None or recorded.config is None:
            return self.config
        kept = recorded.config.model_dump(include=_RECORDED_SETTINGS, exclude_none=True)
        return GenerateConfig(**kept).merged(self.config)

    def messages(self, history: list[Message], recorded: Turn | None) -> tuple[list[Message], str | None]:
        """What the model sees for a reply after ``history``, and the system prompt in it.

        With a persona, the persona's prompt replaces any recorded one; without, the recorded
        system turns stay where they are, or the prompt the recorded reply was made with leads.
        """
        if self.agent.persona is not None:
            return self.agent.messages(history), self._persona_system
        system = next((m.content for m in history if m.role == "system"), None)
        if system is None and recorded is not None and recorded.system_prompt:
            system = recorded.system_prompt
            return [Message(role="system", content=system), *history], system
        return history, system

    async def judge_reply(self, history: list[Message], reply: Reply) -> None:
        recorded = reply.target.recorded
        if self.judge is None or recorded is None:
            return
        scores = await asyncio.gather(
            *(judge_agreement(self.judge, history, recorded.content, c.text) for c in reply.completion.choices)
        )
        reply.judge = list(scores)

    def record(self, item: ReplayItem, replies: list[Reply]) -> dict[str, Any]:
        turns = []
        matches = compared = 0
        judged: list[float] = []
        for r in replies:
            recorded = r.target.recorded.content if r.target.recorded is not None else None
            texts = [c.text for c in r.completion.choices]
            exact = [same(recorded, t) for t in texts] if recorded is not None else None
            if exact is not None:
                matches += sum(exact)
                compared += len(exact)
            judged.extend(s for s in r.judge if s is not None)
            turns.append({
                "index": r.target.index,
                "recorded": recorded,
                "replies": texts,
                "finish_reasons": [c.finish_reason for c in r.completion.choices],
                "exact": exact,
                "judge": r.judge or None,
                "cached": r.completion.cached,
            })
        return {
            "mode": self.name,
            "model": replies[0].completion.model if replies else self.model.name,
            "turns": turns,
            "compared": compared,
            "matches": matches,
            "exact_match": matches / compared if compared else None,
            "judge": sum(judged) / len(judged) if judged else None,
            "usage": _usage_dict(replies),
        }

    def transcript(self, item: ReplayItem, path: list[Turn], replies: list[Reply]) -> Transcript:
        """The replayed conversation: recorded user turns, new replies (sample 0 on the main
        branch, the other samples as siblings), each new reply noting the recorded one."""
        src = item.transcript
        persona_name = self.agent.persona.name if self.agent.persona is not None else None
        new = Transcript(
            id=_new_id(),
            kind="replay",
            title=src.title,
            source=item.origin,
            personas={persona_name: self.agent.persona} if persona_name else dict(src.personas),
            meta={"source_id": src.id, "source_kind": src.kind, "mode": self.name, "model": self.model.name,
                  "history": "recorded" if self.name == "regenerate" else "replayed"},
        )
        by_index = {r.target.index: r for r in replies}
        parent: str | None = None
        positions = len(path) + (1 if len(path) in by_index else 0)
        for i in range(positions):
            reply = by_index.get(i)
            if reply is None:
                old = path[i]
                turn = old.model_copy(update={"parent": parent})
                new.turns.append(turn)
                parent = turn.id
                continue
            c = reply.completion
            main: Turn | None = None
            for j, choice in enumerate(c.choices):
                meta: dict[str, Any] = {"sample": j, "replayed": True}
                if reply.target.recorded is not None:
                    meta["recorded"] = reply.target.recorded.content
                    meta["recorded_turn"] = reply.target.recorded.id
                if reply.judge:
                    meta["judge"] = reply.judge[j]
                turn = Turn(
                    id=_new_id(), parent=parent, role="assistant", content=choice.text, model=c.model,
                    persona=persona_name, system_prompt=reply.system_prompt, config=self.config_for(reply.target.recorded),
                    finish_reason=choice.finish_reason, logprobs=choice.logprobs,
                    usage=c.usage if len(c.choices) == 1 else None, scripted=c.scripted, meta=meta,
                )
                new.turns.append(turn)
                if main is None:
                    main = turn
            parent = main.id if main is not None else parent
        new.active = parent
        return new


class Regenerate(_Generating):
    """Regenerate every recorded assistant turn (or only the last) on the recorded history."""

    name = "regenerate"

    def __init__(self, agent: Agent, *, k: int = 1, last_only: bool = False, judge: Model | None = None) -> None:
        super().__init__(agent, k=k, judge=judge)
        self.last_only = last_only

    @staticmethod
    def targets(path: list[Turn], last_only: bool = False) -> list[_Target]:
        targets = [_Target(i, t) for i, t in enumerate(path) if t.role == "assistant" and not greeting(path, i)]
        if path and path[-1].role != "assistant":
            targets.append(_Target(len(path), None))
        return targets[-1:] if last_only else targets

    async def _one(self, history: list[Message], target: _Target) -> Reply:
        messages, system = self.messages(history, target.recorded)
        completion = await self.model.generate(messages, self.config_for(target.recorded))
        reply = Reply(target, completion, system)
        await self.judge_reply(history, reply)
        return reply

    async def __call__(self, item: ReplayItem) -> ItemResult:
        path = item.transcript.path()
        targets = self.targets(path, self.last_only)
        if not targets:
            raise ValueError("the conversation has no turn to reply to")
        history = [Message(role=t.role, content=t.content) for t in path]
        if len(targets) == 1:
            replies = [await self._one(history[: targets[0].index], targets[0])]
        else:
            replies = list(await asyncio.gather(*(self._one(history[: t.index], t) for t in targets)))
        return ItemResult(self.record(item, replies), self.transcript(item, path, replies))


class Rerun(_Generating):
    """Feed the recorded user turns one by one; the new agent's replies become the history."""

    name = "rerun"

    async def __call__(self, item: ReplayItem) -> ItemResult:
        path = item.transcript.path()
        targets = Regenerate.targets(path)
        if not targets:
            raise ValueError("the conversation has no turn to reply to")
        at = {t.index: t for t in targets}
        history: list[Message] = []
        replies: list[Reply] = []
        for i in range(len(path) + 1):
            target = at.get(i)
            if target is not None:
                messages, system = self.messages(history, target.recorded)
                completion = await self.model.generate(messages, self.config_for(target.recorded))
                reply = Reply(target, completion, system)
                await self.judge_reply(history, reply)
                replies.append(reply)
                history.append(Message(role="assistant", content=completion.text))
            elif i < len(path):
                history.append(Message(role=path[i].role, content=path[i].content))
        return ItemResult(self.record(item, replies), self.transcript(item, path, replies))


Scorer = Callable[[Transcript], Any]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class Rescore:
    """Run a scorer over stored transcripts; nothing is generated and no transcript is written.

    ``scorer(transcript)`` may be sync or async and return a number, a dict, or a pydantic
    model; a number (or a dict's numeric ``"score"``) is averaged in the summary.
    """

    name = "rescore"
    model = None

    def __init__(self, scorer: Scorer | Callable[[Transcript], Awaitable[Any]], scorer_name: str | None = None) -> None:
        self.scorer = scorer
        self.scorer_name = scorer_name or getattr(scorer, "__name__", "scorer")

    async def __call__(self, item: ReplayItem) -> ItemResult:
        value = self.scorer(item.transcript)
        if inspect.isawaitable(value):
            value = await value
        value = _jsonable(value)
        score = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if score is None and isinstance(value, dict) and isinstance(value.get("score"), (int, float)):
            score = value["score"]
        return ItemResult({"mode": self.name, "scorer": self.scorer_name, "result": value, "score": score})
