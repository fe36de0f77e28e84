"""The 20 Questions game: the model under test answers, a questioner asks.

Two conditions: ``uncommitted`` (persona ``twentyq-host``, no secret anywhere in the context)
and ``committed`` (persona ``twentyq-secret`` with the secret in its system prompt). The game is
a `transcripts.Transcript` (kind ``twentyq``): user turns carry ``meta={"kind": "question"}``,
assistant turns ``{"kind": "answer", "label": "yes"|"no"|"unsure"|"invalid", "p_yes": ...}``;
the closing "I give up, what was it?" is a question with ``give_up: true`` and the reply a
``{"kind": "reveal", "label": <canonical object | open label | "(non-reveal)">}``. Resampled
branches are sibling turns.

Answers: where the backend gives logprobs, the answer is read from the model's first-token
distribution (``answer_dist``: P(yes), P(no), P(other); ``source: "logprobs"``), or where that
shows no yes/no token and the backend scores, from the exact likelihood of the replies "Yes." and
"No." (``source: "scored"``); the label is drawn from it at the game's temperature, and the turn
says "Yes." or "No." and keeps the model's own sampled text in ``sampled_text``. Otherwise the
text is parsed (``source: "text"``). Each question is sent with the answer format appended
("Answer Yes or No.", as the published protocols do; not on the built-in model, trained on bare
questions); the bare question is kept in the question turn's ``question``.
"""

from __future__ import annotations

import inspect
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from improv.agents.agent import Agent
from improv.agents.errors import ConfigError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message
from improv.transcripts.schema import Transcript, Turn, reply_turn

from .answers import AnswerDistribution, LabelSet, Reveal, answer_distribution, draw_label, parse_answer, read_reveal, reveal_phrase
from .fit import prompt_text
from .table import ObjectTable, load_table

GIVE_UP = "I give up, what was it?"
UNCOMMITTED = "uncommitted"
COMMITTED = "committed"
DEFAULT_CONFIG = GenerateConfig(temperature=1.0)
#: appended to every question sent to the answerer (Huang et al.: "... Answer Yes or No.")
ANSWER_FORMAT = "Answer Yes or No."
AUTO = "auto"


def default_answer_format(model: Model) -> str | None:
    """`ANSWER_FORMAT`, except on the built-in model: it was trained on bare questions, and with
    the format appended its committed answers agreed with the secret 0.81 instead of 1.00
    (6 games, `improv twentyq batch -n 6`)."""
    return None if model.name.split("/", 1)[0] == "organism" else ANSWER_FORMAT


#: first-token alternatives asked for: the most the OpenAI API allows, so P(other) is small tail mass
TOP_LOGPROBS = 20


class QA(BaseModel):
    number: int  # 1-based question number
    question: str  # as the questioner asked it
    answer: str
    label: str
    p_yes: float | None = None
    prompt: str | None = None  # as sent to the answerer (with the answer format), when it differs
    source: str | None = None  # "logprobs" / "scored" (drawn from the model's distribution) or "text" (parsed)
    p_other: float | None = None
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
        from improv.agents.registry import get_model

        return ModelQuestioner(get_model(arg))
    if kind == "script" and arg:
        return ScriptQuestioner(load_script(arg), name=f"script:{Path(arg).name}")
    raise ConfigError(f"--questioner {spec!r}: expected human, model:MODEL or script:FILE")


# -- the answerer ------------------------------------------------------------------------------

def answerer(model: Model, secret: str | None, config: GenerateConfig | None = None) -> Agent:
    from improv.personas import get_persona

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


def ask_text(question: str, answer_format: str | None) -> str:
    """The question as sent to the answerer."""
    return f"{question.rstrip()} {answer_format}" if answer_format else question


def table_for(transcript: Transcript) -> ObjectTable:
    """The object table a saved game was played with (the built-in one for older games)."""
    return load_table(transcript.meta.get("objects") or None)


def reveal_meta(text: str, table: ObjectTable | None, finish_reason: str | None = None,
                labels: LabelSet | None = None) -> tuple[Reveal, dict]:
    r = read_reveal(text, table, finish_reason, labels)
    return r, {"label": r.label, "in_table": r.in_table, "non_reveal": r.non_reveal}


def canonical_object(text: str, table: ObjectTable | None) -> str:
    """A reveal's object, canonical if the table knows it, else its normalised phrase."""
    phrase = reveal_phrase(text)
    if table is not None:
        canon = table.canonical(phrase)
        if canon is not None:
            return canon
    return phrase or "(none)"


def answer_config(model: Model, config: GenerateConfig | None = None) -> GenerateConfig:
    """Ask for first-token logprobs where the backend has them (for P(yes), P(no), P(other))."""
    extra = GenerateConfig(logprobs=True, top_logprobs=TOP_LOGPROBS) if model.capabilities.logprobs else GenerateConfig()
    return extra.merged(config)


def answer_route(model: Model) -> str:
    """How answers are read on ``model``: ``logprobs`` (the model's own distribution) or ``text``."""
    return "logprobs" if model.capabilities.logprobs else "text"


#: the replies scored when the first token shows no yes/no mass (a backend that scores, hf/ and organism)
SCORED_REPLIES = ("Yes.", "No.")


def read_answer(choice, labels: LabelSet, temperature: float | None, rng: random.Random,
                scored: AnswerDistribution | None = None) -> dict:
    """The answer turn's fields for one sample: label drawn from the first-token distribution
    (or from ``scored``, the scored replies) where either has yes/no mass, else parsed from the text."""
    text_label = parse_answer(choice.text, labels)
    dist = answer_distribution(choice.logprobs, labels)
    if (dist is None or dist.p_yes + dist.p_no <= 0) and scored is not None:
        dist = scored
    drawn = draw_label(dist, temperature, rng) if dist is not None else None
    if drawn is None:
        return {"label": text_label, "source": "text", "p_yes": dist.p_yes_given_answer if dist else None,
                "answer_dist": dist.model_dump() if dist else None, "content": choice.text}
    return {"label": drawn, "source": dist.source, "p_yes": dist.p_yes_given_answer, "answer_dist": dist.model_dump(),
            "text_label": text_label, "sampled_text": choice.text, "content": "Yes." if drawn == "yes" else "No."}


async def scored_answer(agent: Agent, history: list[Message], choice, labels: LabelSet) -> AnswerDistribution | None:
    """Where the first token shows no yes/no mass and the backend scores: P(reply is "Yes.") and
    P(reply is "No.") exactly, so the answer is still read from the model's distribution."""
    dist = answer_distribution(choice.logprobs, labels)
    if (dist is not None and dist.p_yes + dist.p_no > 0) or not agent.model.capabilities.score:
        return None
    yes, no = await agent.model.score(agent.messages(history), list(SCORED_REPLIES))
    p_yes, p_no = math.exp(yes), math.exp(no)
    return AnswerDistribution(p_yes=p_yes, p_no=p_no, p_other=max(0.0, 1.0 - p_yes - p_no), source="scored")


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
    answer_format: str | None = AUTO,
    rng: random.Random | None = None,
) -> Transcript:
    """Play one game; return its transcript (the main line, ending in a reveal if asked).

    ``answer_format`` is appended to each question (``auto``: `default_answer_format`);
    ``rng`` draws the answer labels from the model's distribution (seeded from the config's
    seed when not given)."""
    if answer_format == AUTO:
        answer_format = default_answer_format(model)
    table = table if table is not None else load_table()
    labels = labels or LabelSet()
    agent = answerer(model, secret, config)
    rng = rng or random.Random(agent.config.seed)
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
            "objects": table.name,
            "answer_format": answer_format,
            "answers": answer_route(model),
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
        q_turn = transcript.add(Turn(parent=parent, role="user", content=ask_text(question, answer_format), meta={
            "kind": "question", "number": number, "question": question, "attribute": table.attribute_for_question(question)}))
        if on_event:
            on_event(GameEvent(kind="question", number=number, text=question))
        messages.append(q_turn.message())
        a_turn = await answer_question(agent, transcript, q_turn, messages, labels, persona, number, rng)
        messages.append(a_turn.message())
        parent = a_turn.id
        history.append(_qa(number, q_turn, a_turn))
        if on_event:
            on_event(GameEvent(kind="answer", number=number, text=a_turn.content, label=a_turn.meta["label"]))
    transcript.meta["main_leaf"] = parent
    transcript.meta["questions"] = len(history)
    if reveal:
        g_turn = transcript.add(Turn(parent=parent, role="user", content=GIVE_UP,
                                     meta={"kind": "question", "give_up": True, "number": len(history)}))
        completion = await agent.respond([*messages, g_turn.message()])
        choice = completion.choices[0]
        _, rmeta = reveal_meta(choice.text, table, choice.finish_reason, labels)
        r_turn = transcript.add(reply_turn(agent, g_turn.id, choice, completion, persona=persona,
                                            meta={"kind": "reveal", "at": len(history), **rmeta}))
        transcript.meta["main_leaf"] = r_turn.id
        if on_event:
            on_event(GameEvent(kind="reveal", number=len(history), text=choice.text, label=r_turn.meta["label"]))
    return transcript


async def answer_turn(agent: Agent, parent: str, history: list[Message], choice, completion, labels: LabelSet,
                      rng: random.Random, *, persona: str | None, meta: dict, config: GenerateConfig | None = None) -> Turn:
    """An answer turn for one sample of the reply to ``history``, its label read by `read_answer`;
    ``config``: the per-call settings it was asked with (logprobs), recorded in the turn."""
    scored = await scored_answer(agent, history, choice, labels)
    fields = read_answer(choice, labels, agent.config.temperature, rng, scored)
    content = fields.pop("content")
    if fields["source"] != "text":  # the turn says the drawn answer; the sampled text stays in meta
        choice = choice.model_copy(update={"text": content, "logprobs": (choice.logprobs or [])[:1]})
    turn = reply_turn(agent, parent, choice, completion, persona=persona, meta={**meta, **fields})
    if config is not None:
        turn.config = agent.config.merged(config)
    return turn


async def answer_question(agent: Agent, transcript: Transcript, q_turn: Turn, messages: list[Message],
                          labels: LabelSet, persona: str | None, number: int, rng: random.Random) -> Turn:
    """Ask the answerer ``messages`` (ending with question ``q_turn``) and add its answer turn,
    read as `answer_turn` reads it; the game loop and the TUI's typed questions both use it."""
    cfg = answer_config(agent.model)
    completion = await agent.respond(messages, cfg)
    return transcript.add(await answer_turn(agent, q_turn.id, messages, completion.choices[0], completion, labels, rng,
                                            persona=persona, meta={"kind": "answer", "number": number}, config=cfg))


def _qa(number: int, q_turn: Turn, a_turn: Turn) -> QA:
    dist = a_turn.meta.get("answer_dist") or {}
    question = q_turn.meta.get("question") or q_turn.content
    return QA(number=number, question=question, answer=a_turn.content,
              label=a_turn.meta.get("label") or parse_answer(a_turn.content), p_yes=a_turn.meta.get("p_yes"),
              prompt=q_turn.content if q_turn.content != question else None, source=a_turn.meta.get("source"),
              p_other=dist.get("p_other"), attribute=q_turn.meta.get("attribute"), question_id=q_turn.id,
              answer_id=a_turn.id)


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
            out.append(_qa(len(out) + 1, turn, reply))
    return out


def check_game(transcript: Transcript) -> list[QA]:
    if transcript.kind != "twentyq":
        raise ConfigError(f"transcript {transcript.id} is a {transcript.kind!r} transcript, not a 20 Questions game")
    return main_line(transcript)
