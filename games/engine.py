"""Who asks and how an answer is read: the questioners, the answerer's persona, the answer format,
and the reading of one answer sample. The game itself (its state, loop and analysis) is
`games.game.Game`.

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

from pydantic import BaseModel

from improv.agents.agent import Agent
from improv.agents.errors import ConfigError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message
from improv.transcripts.schema import Turn, reply_turn

from .answers import GIVE_UP, AnswerDistribution, LabelSet, answer_distribution, draw_label, parse_answer
from .fit import prompt_text
from .state import COMMITTED, UNCOMMITTED, AnswerMeta, dump
from .table import ObjectTable

DEFAULT_CONFIG = GenerateConfig(temperature=1.0)
#: appended to every question sent to the answerer (Huang et al.: "... Answer Yes or No.")
ANSWER_FORMAT = "Answer Yes or No."
AUTO = "auto"
#: first-token alternatives asked for: the most the OpenAI API allows, so P(other) is small tail mass
TOP_LOGPROBS = 20
#: the replies scored when the first token shows no yes/no mass (a backend that scores, hf/ and organism)
SCORED_REPLIES = ("Yes.", "No.")

__all__ = ["AUTO", "ANSWER_FORMAT", "COMMITTED", "GIVE_UP", "QA", "UNCOMMITTED", "CallbackQuestioner",
           "ModelQuestioner", "Questioner", "ScriptQuestioner", "answerer", "is_builtin", "load_script", "pick_secret"]


def is_builtin(model: Model) -> bool:
    """The built-in model (trained on its own 20 Questions wording)."""
    return model.name.split("/", 1)[0] == "organism"


def default_answer_format(model: Model) -> str | None:
    """`ANSWER_FORMAT`, except on the built-in model: it was trained on bare questions, and with
    the format appended its committed answers agreed with the secret 0.81 instead of 1.00
    (6 games, `improv twentyq batch -n 6`)."""
    return None if is_builtin(model) else ANSWER_FORMAT


class QA(BaseModel):
    """One answered question of a game's main line."""

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
    """Asks the next question from the answered ones. It sees only the visible questions and
    answers (never the answerer's system prompt or private memory)."""

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

    def messages(self, history: list[QA]) -> list[Message]:
        lines = "\n".join(f"{qa.number}. {qa.question} - {qa.answer.strip()}" for qa in history) or "(none yet)"
        return [
            Message(role="system", content=prompt_text("questioner.txt").strip()),
            Message(role="user", content=prompt_text("questioner_turn.txt").format(history=lines).strip()),
        ]

    async def ask(self, history: list[QA]) -> str | None:
        text = (await self.model.generate(self.messages(history), self.config)).text
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
    out = [line.strip() for line in raw.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not out:
        raise ConfigError(f"question script {path}: no questions (one per line)")
    return out


# -- the answerer ------------------------------------------------------------------------------

def answerer(model: Model, secret: str | None, config: GenerateConfig | None = None) -> Agent:
    """The answerer's agent: ``twentyq-host`` (no secret) or ``twentyq-secret`` holding ``secret``."""
    from improv.personas import get_persona

    if secret is None:
        return Agent(model, get_persona("twentyq-host"), DEFAULT_CONFIG.merged(config))
    return Agent(model, get_persona("twentyq-secret"), DEFAULT_CONFIG.merged(config), {"secret": secret})


def pick_secret(spec: str | None, table: ObjectTable, rng: random.Random | None = None) -> str | None:
    """None (uncommitted), ``random`` (from the table) or an object name (canonicalised if in the table)."""
    if spec is None:
        return None
    if spec.strip().lower() == "random":
        return (rng or random.Random()).choice(table.objects)
    name = spec.strip()
    if not name:
        raise ConfigError("secret: empty object name")
    return table.canonical(name) or name.lower()


def ask_text(question: str, answer_format: str | None) -> str:
    """The question as sent to the answerer."""
    return f"{question.rstrip()} {answer_format}" if answer_format else question


def answer_config(model: Model, config: GenerateConfig | None = None) -> GenerateConfig:
    """Ask for first-token logprobs where the backend has them (for P(yes), P(no), P(other))."""
    extra = GenerateConfig(logprobs=True, top_logprobs=TOP_LOGPROBS) if model.capabilities.logprobs else GenerateConfig()
    return extra.merged(config)


def answer_route(model: Model) -> str:
    """How answers are read on ``model``: ``logprobs`` (the model's own distribution) or ``text``."""
    return "logprobs" if model.capabilities.logprobs else "text"


def read_answer(choice, labels: LabelSet, temperature: float | None, rng: random.Random,
                scored: AnswerDistribution | None = None) -> tuple[AnswerMeta, str]:
    """One sample's answer fields and the turn's text: label drawn from the first-token distribution
    (or from ``scored``, the scored replies) where either has yes/no mass, else parsed from the text."""
    text_label = parse_answer(choice.text, labels)
    dist = answer_distribution(choice.logprobs, labels)
    if (dist is None or dist.p_yes + dist.p_no <= 0) and scored is not None:
        dist = scored
    drawn = draw_label(dist, temperature, rng) if dist is not None else None
    if drawn is None:
        return AnswerMeta(label=text_label, source="text", p_yes=dist.p_yes_given_answer if dist else None,
                          answer_dist=dist), choice.text
    return AnswerMeta(label=drawn, source=dist.source, p_yes=dist.p_yes_given_answer, answer_dist=dist,
                      text_label=text_label, sampled_text=choice.text), ("Yes." if drawn == "yes" else "No.")


async def scored_answer(agent: Agent, history: list[Message], choice, labels: LabelSet) -> AnswerDistribution | None:
    """Where the first token shows no yes/no mass and the backend scores: P(reply is "Yes.") and
    P(reply is "No.") exactly, so the answer is still read from the model's distribution."""
    dist = answer_distribution(choice.logprobs, labels)
    if (dist is not None and dist.p_yes + dist.p_no > 0) or not agent.model.capabilities.score:
        return None
    yes, no = await agent.model.score(agent.messages(history), list(SCORED_REPLIES))
    p_yes, p_no = math.exp(yes), math.exp(no)
    return AnswerDistribution(p_yes=p_yes, p_no=p_no, p_other=max(0.0, 1.0 - p_yes - p_no), source="scored")


async def answer_turn(agent: Agent, parent: str, history: list[Message], choice, completion, labels: LabelSet,
                      rng: random.Random, *, persona: str | None, meta: AnswerMeta,
                      config: GenerateConfig | None = None) -> Turn:
    """An answer turn for one sample of the reply to ``history``, its label read by `read_answer`;
    ``meta`` the turn's other fields (number, resampled, probe); ``config`` the per-call settings
    it was asked with (logprobs), recorded in the turn."""
    scored = await scored_answer(agent, history, choice, labels)
    fields, content = read_answer(choice, labels, agent.config.temperature, rng, scored)
    fields = fields.model_copy(update=meta.model_dump(exclude_unset=True))
    if fields.source != "text":  # the turn says the drawn answer; the sampled text stays in meta
        choice = choice.model_copy(update={"text": content, "logprobs": (choice.logprobs or [])[:1]})
    turn = reply_turn(agent, parent, choice, completion, persona=persona, meta=dump(fields))
    if config is not None:
        turn.config = agent.config.merged(config)
    return turn


# -- reading a saved game (the `Game` object holds it; these serve callers with a transcript) ----

def main_line(transcript) -> list[QA]:
    """The (question, answer) pairs of a saved game's main line."""
    from .game import Game

    return Game.open(transcript, None).exchanges


def check_game(transcript) -> list[QA]:
    """`main_line`, refusing a transcript that is not a 20 Questions game (one line, exit 2)."""
    return main_line(transcript)


def table_for(transcript):
    """The object table a saved game was played with (the built-in one for older games)."""
    from .game import Game

    return Game.open(transcript, None).table


async def play_game(model: Model, questioner: Questioner, *, secret: str | None = None, turns: int = 20,
                    config: GenerateConfig | None = None, labels: LabelSet | None = None,
                    table: ObjectTable | None = None, reveal: bool = True, on_event=None,
                    answer_format: str | None = AUTO, rng: random.Random | None = None):
    """Play one uncommitted (or, with ``secret``, committed) game; return its transcript.
    A shorthand for `Game.new(...).play(...)`."""
    from .game import Game

    game = Game.new(model, condition=COMMITTED if secret else UNCOMMITTED, secret=secret, table=table, labels=labels,
                    config=config, answer_format=answer_format, questioner=questioner.name, rng=rng)
    await game.play(questioner, turns=turns, reveal=reveal, on_event=on_event)
    return game.transcript
