"""The 20 Questions game: the model under test answers, a questioner asks.

Two conditions: ``uncommitted`` (persona ``twentyq-host``, no secret anywhere in the context)
and ``committed`` (persona ``twentyq-secret`` with the secret in its system prompt). The game is
a `transcripts.Transcript` (kind ``twentyq``): user turns carry ``meta={"kind": "question"}``,
assistant turns ``{"kind": "answer", "label": "yes"|"no"|"unsure"|"invalid", "p_yes": ...}``;
the closing "I give up, what was it?" is a question with ``give_up: true`` and the reply a
``{"kind": "reveal", "label": <canonical object>}``. Resampled branches are sibling turns.
"""

from __future__ import annotations

import inspect
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agents.agent import Agent
from agents.errors import ConfigError
from agents.model import Model
from agents.types import GenerateConfig, Message
from transcripts.schema import Transcript, Turn, reply_turn

from .answers import LabelSet, p_yes, parse_answer, reveal_phrase
from .fit import prompt_text
from .table import ObjectTable, load_table

GIVE_UP = "I give up, what was it?"
UNCOMMITTED = "uncommitted"
COMMITTED = "committed"
DEFAULT_CONFIG = GenerateConfig(temperature=1.0)


class QA(BaseModel):
    number: int  # 1-based question number
    question: str
    answer: str
    label: str
    p_yes: float | None = None
    attribute: str | None = None
    question_id: str | None = None
    answer_id: str | None = None


# -- questioners ------------------------------------------------------------------------------

class Questioner(ABC):
    name: str = "questioner"

    @abstractmethod
    async def ask(self, history: list[QA]) -> str | None:
        """The next question, or None to stop (give up)."""


class ScriptQuestioner(Questioner):
    def __init__(self, questions: list[str], name: str = "script") -> None:
        self.questions = list(questions)
        self.name = name

    async def ask(self, history: list[QA]) -> str | None:
        i = len(history)
        return self.questions[i] if i < len(self.questions) else None


class CallbackQuestioner(Questioner):
    """A person: the front end supplies a (sync or async) callback; None or "" stops."""

    def __init__(self, callback: Callable[[list[QA]], str | None | Awaitable[str | None]], name: str = "human") -> None:
        self.callback = callback
        self.name = name

    async def ask(self, history: list[QA]) -> str | None:
        out = self.callback(history)
        if inspect.isawaitable(out):
            out = await out
        out = (out or "").strip()
        return out or None


class ModelQuestioner(Questioner):
    """Another model asks: system prompt ``questioner.txt``, the history in one user message."""

    def __init__(self, model: Model, config: GenerateConfig | None = None) -> None:
        self.model = model
        self.name = f"model:{model.name}"
        self.config = GenerateConfig(temperature=1.0, max_tokens=40).merged(config)

    async def ask(self, history: list[QA]) -> str | None:
        lines = "\n".join(f"{qa.number}. {qa.question} - {qa.answer.strip()}" for qa in history) or "(none yet)"
        messages = [
            Message(role="system", content=prompt_text("questioner.txt").strip()),
            Message(role="user", content=prompt_text("questioner_turn.txt").format(history=lines).strip()),
        ]
        text = (await self.model.generate(messages, self.config)).text
        lines = [ln.strip().strip('"').strip() for ln in text.strip().splitlines()]
        lines = [ln for ln in lines if ln]
        for line in lines:
            if "?" in line:
                return line[: line.index("?") + 1]
        return lines[0] if lines else None


def load_script(path: str | Path) -> list[str]:
    """Questions from a text file (one per line, ``#`` comments) or YAML (a list, or {questions: [...]})."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"question script {path}: cannot read: {getattr(err, 'strerror', None) or err}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"question script {path}{where}: not valid YAML") from None
        if isinstance(data, dict):
            data = data.get("questions")
        if not isinstance(data, list) or not data:
            raise ConfigError(f"question script {path}: expected a list of questions (or questions: [...])")
        out = []
        for i, q in enumerate(data, 1):
            if not isinstance(q, str) or not q.strip():
                raise ConfigError(f"question script {path}: item {i} is not a question string")
            out.append(q.strip())
        return out
    out = []
    for line in raw.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    if not out:
        raise ConfigError(f"question script {path}: no questions (one per line)")
    return out


def make_questioner(spec: str, *, human: Callable[[list[QA]], Any] | None = None) -> Questioner:
    """``human`` | ``model:MODEL`` | ``script:FILE``."""
    kind, _, arg = spec.partition(":")
    if kind == "human":
        if human is None:
            raise ConfigError("--questioner human needs an interactive front end")
        return CallbackQuestioner(human)
    if kind == "model" and arg:
        from agents.registry import get_model

        return ModelQuestioner(get_model(arg))
    if kind == "script" and arg:
        return ScriptQuestioner(load_script(arg), name=f"script:{Path(arg).name}")
    raise ConfigError(f"--questioner {spec!r}: expected human, model:MODEL or script:FILE")


# -- the answerer ------------------------------------------------------------------------------

def answerer(model: Model, secret: str | None, config: GenerateConfig | None = None) -> Agent:
    from personas import get_persona

    if secret is None:
        return Agent(model, get_persona("twentyq-host"), DEFAULT_CONFIG.merged(config))
    return Agent(model, get_persona("twentyq-secret"), DEFAULT_CONFIG.merged(config), {"secret": secret})


def answerer_for(transcript: Transcript, model: Model, config: GenerateConfig | None = None) -> Agent:
    """The answerer of a saved game (same persona and secret), on ``model``."""
    stored = transcript.meta.get("config")
    base = GenerateConfig(**stored) if isinstance(stored, dict) else None
    merged = base.merged(config) if base is not None else config
    return answerer(model, transcript.meta.get("secret"), merged)


def pick_secret(spec: str | None, table: ObjectTable, rng: random.Random | None = None) -> str | None:
    """None (uncommitted), ``random`` (from the table) or an object name (canonicalised if in the table)."""
    if spec is None:
        return None
    if spec.strip().lower() == "random":
        return (rng or random.Random()).choice(table.objects)
    name = spec.strip()
    if not name:
        raise ConfigError("--secret: empty object name")
    return table.canonical(name) or name.lower()


def canonical_object(text: str, table: ObjectTable | None) -> str:
    """A reveal's object, canonical if the table knows it, else its normalised phrase."""
    phrase = reveal_phrase(text)
    if table is not None:
        canon = table.canonical(phrase)
        if canon is not None:
            return canon
    return phrase or "(none)"


def answer_config(model: Model, config: GenerateConfig | None = None) -> GenerateConfig:
    """Ask for first-token logprobs where the backend has them (for P(yes))."""
    extra = GenerateConfig(logprobs=True, top_logprobs=5) if model.capabilities.logprobs else GenerateConfig()
    return extra.merged(config)


class GameEvent(BaseModel):
    kind: str  # "question" | "answer" | "reveal"
    number: int
    text: str
    label: str | None = None


async def play_game(
    model: Model,
    questioner: Questioner,
    *,
    secret: str | None = None,
    turns: int = 20,
    config: GenerateConfig | None = None,
    labels: LabelSet | None = None,
    table: ObjectTable | None = None,
    reveal: bool = True,
    on_event: Callable[[GameEvent], Any] | None = None,
) -> Transcript:
    """Play one game; return its transcript (the main line, ending in a reveal if asked)."""
    table = table if table is not None else load_table()
    labels = labels or LabelSet()
    agent = answerer(model, secret, config)
    condition = COMMITTED if secret is not None else UNCOMMITTED
    transcript = Transcript(
        kind="twentyq",
        title=f"20 Questions ({condition}{': ' + secret if secret else ''})",
        meta={
            "condition": condition,
            "secret": secret,
            "model": model.name,
            "questioner": questioner.name,
            "labels": labels.model_dump()["labels"],
            "config": config.model_dump(exclude_unset=True) if config else {},
        },
    )
    persona = transcript.add_persona(agent.persona) if agent.persona else None
    history: list[QA] = []
    parent: str | None = None
    messages: list[Message] = []
    for number in range(1, turns + 1):
        question = await questioner.ask(history)
        if question is None:
            break
        q_turn = transcript.add(Turn(parent=parent, role="user", content=question, meta={
            "kind": "question", "number": number, "attribute": table.attribute_for_question(question)}))
        if on_event:
            on_event(GameEvent(kind="question", number=number, text=question))
        messages.append(q_turn.message())
        a_turn = await _answer(agent, transcript, q_turn, messages, labels, persona, number)
        messages.append(a_turn.message())
        parent = a_turn.id
        history.append(QA(number=number, question=question, answer=a_turn.content, label=a_turn.meta["label"],
                          p_yes=a_turn.meta.get("p_yes"), attribute=q_turn.meta["attribute"],
                          question_id=q_turn.id, answer_id=a_turn.id))
        if on_event:
            on_event(GameEvent(kind="answer", number=number, text=a_turn.content, label=a_turn.meta["label"]))
    transcript.meta["main_leaf"] = parent
    transcript.meta["questions"] = len(history)
    if reveal:
        g_turn = transcript.add(Turn(parent=parent, role="user", content=GIVE_UP,
                                     meta={"kind": "question", "give_up": True, "number": len(history)}))
        completion = await agent.respond([*messages, g_turn.message()])
        choice = completion.choices[0]
        r_turn = transcript.add(reply_turn(agent, g_turn.id, choice, completion, persona=persona,
                                            meta={"kind": "reveal", "at": len(history),
                                                  "label": canonical_object(choice.text, table)}))
        transcript.meta["main_leaf"] = r_turn.id
        if on_event:
            on_event(GameEvent(kind="reveal", number=len(history), text=choice.text, label=r_turn.meta["label"]))
    return transcript


async def _answer(agent: Agent, transcript: Transcript, q_turn: Turn, messages: list[Message],
                  labels: LabelSet, persona: str | None, number: int) -> Turn:
    completion = await agent.respond(messages, answer_config(agent.model))
    choice = completion.choices[0]
    return transcript.add(reply_turn(agent, q_turn.id, choice, completion, persona=persona, meta={
        "kind": "answer", "number": number, "label": parse_answer(choice.text, labels),
        "p_yes": p_yes(choice.logprobs, labels)}))


# -- reading a game back -----------------------------------------------------------------------

def main_line(transcript: Transcript) -> list[QA]:
    """The (question, answer) pairs of the game's main line."""
    leaf = transcript.meta.get("main_leaf") or transcript.active
    out: list[QA] = []
    path = transcript.path(leaf) if leaf else []
    for i, turn in enumerate(path):
        if turn.role == "user" and turn.meta.get("kind") == "question" and not turn.meta.get("give_up"):
            reply = path[i + 1] if i + 1 < len(path) else None
            if reply is None or reply.meta.get("kind") != "answer":
                break
            out.append(QA(number=len(out) + 1, question=turn.content, answer=reply.content,
                          label=reply.meta.get("label") or parse_answer(reply.content),
                          p_yes=reply.meta.get("p_yes"), attribute=turn.meta.get("attribute"),
                          question_id=turn.id, answer_id=reply.id))
    return out


def check_game(transcript: Transcript) -> list[QA]:
    if transcript.kind != "twentyq":
        raise ConfigError(f"transcript {transcript.id} is a {transcript.kind!r} transcript, not a 20 Questions game")
    return main_line(transcript)
