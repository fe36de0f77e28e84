"""`Game`: one 20 Questions game over its transcript, the object every front end drives.

The CLI (`improv twentyq`), the TUI screen, batch runs and the built-in model's check all make a
`Game` and call it: `ask` (one question, typed by a person or put by a `Questioner`), `play` (the
questioner loop), `reveal`, `resample` / `analyse` at a turn, `exact_posterior`, `mass_test`,
`flips`. Its settings are a typed `GameRecord`; the transcript is where they are stored
(`games.state` is the only reader and writer of its meta dicts), so `Game.open` reads back any
saved game, older ones included. What does not change between calls is computed once: the main
line, the objects still possible at each turn, the exact posterior at each turn, and every
(object, question) fit.

A turn number ``at`` is a node: the state after ``at`` answered questions (0 = before the first).

Commitment protocols (``condition``): ``uncommitted`` (no secret), ``committed`` (the tool puts the
secret in the system prompt), ``private`` (the answerer chooses an object in a private call and it
is kept in a private memory in its context at every turn, after Baldelli et al. 2026; the memory
is stored in `GameRecord.memory`, never in a visible turn, never shown to a questioner) and
``sealed`` (the answerer chooses privately; only a salted SHA-256 of its choice is stated, in the
first visible assistant turn, and every reveal is checked against it, after Shanahan et al. 2023).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets as _secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from improv.agents.agent import Agent
from improv.agents.errors import CapabilityError, ConfigError, SettingError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message
from improv.transcripts.schema import Transcript, Turn, reply_turn

from .answers import NON_REVEAL, LabelSet, Reveal, answer_distribution, article, parse_answer, read_reveal
from .engine import (
    AUTO,
    DEFAULT_CONFIG,
    GIVE_UP,
    QA,
    Questioner,
    answer_config,
    answer_route,
    answer_turn,
    ask_text,
    default_answer_format,
    is_builtin,
    scored_answer,
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
from .state import (
    COMMITTED,
    PRIVATE,
    PROTOCOLS,
    SEALED,
    UNCOMMITTED,
    AnswerMeta,
    GameRecord,
    MemoryEntry,
    QuestionMeta,
    RevealMeta,
    Seal,
    SealMeta,
    dump,
    read_meta,
)
from .table import ObjectTable, load_table

#: candidates per score() call: bounds what a scorer that builds [candidates, length, vocab]
#: logits holds at once. Large, because each call encodes the game so far again, and hf/ (the
#: scoring backend) bounds its own memory within a call
SCORE_CHUNK = 1024
#: the private prompt an answerer chooses its object with (private and sealed protocols)
CHOOSE = "Before we start, choose your object. Reply with only its name, as <secret>OBJECT</secret>. Only you will see this."
#: the questioner's opening request in the sealed protocol (a visible turn)
SEAL_REQUEST = "Before we start, choose your object and state it in sealed form."
#: how the private memory is shown to the answerer, at the end of its system prompt, every turn
MEMORY_BLOCK = "\n\nYour private memory (only you can see it; the questioner cannot):\n{memory}"
CHOICE_TRIES = 3


def choose_prompt(model: Model) -> str:
    """`CHOOSE`; on the built-in model, which knows no such instruction, the give-up question at
    turn 0: its trained way of naming the object it has (or has not) in mind."""
    return GIVE_UP if is_builtin(model) else CHOOSE


def seal_digest(salt: str, obj: str) -> str:
    return hashlib.sha256(f"{salt}:{obj}".encode()).hexdigest()


def reveal_sentence(obj: str) -> str:
    return f"It was {article(obj)}."


class GameEvent(BaseModel):
    kind: str  # "question" | "answer" | "reveal" | "seal"
    number: int
    text: str
    label: str | None = None


class RevealSample(BaseModel):
    at: int
    k: int
    texts: list[str]
    objects: list[str] = Field(description="Per sample: the object named, or '(non-reveal)'.")
    reveals: list[Reveal] = Field(default_factory=list)
    distribution: RevealDistribution
    turn_ids: list[str] = Field(default_factory=list)
    seal_matches: int | None = Field(None, description="Sealed: object reveals that open the seal.")


class NodeAnalysis(BaseModel):
    at: int
    condition: str | None
    secret: str | None
    remaining: list[str] = Field(description="Table objects still consistent with the answers.")
    sample: RevealSample
    fits: dict[str, RevealFit] = Field(description="Per distinct revealed object.")
    consistency: Consistency
    secret_share: float | None = Field(None, description="Share of the object reveals naming the secret (committed) or "
                                                           "the answerer's own choice (private, sealed); n = sample.distribution.objects.")
    posterior: Posterior | None = None


class PosteriorCurve(BaseModel):
    posteriors: list[Posterior]
    entropies: list[float]
    information_gain: list[float] = Field(description="Bits gained by question t (t = 1..T).")
    questions: list[str]


def _labels_of(record: GameRecord) -> LabelSet:
    return LabelSet(labels=record.labels) if record.labels else LabelSet()


class Game:
    """A 20 Questions game: its transcript, typed settings, answerer and cached analysis."""

    def __init__(self, transcript: Transcript, model: Model | None, *, table: ObjectTable | None = None,
                 rng: random.Random | None = None, config: GenerateConfig | None = None) -> None:
        if transcript.kind != "twentyq":
            raise ConfigError(f"transcript {transcript.id} is a {transcript.kind!r} transcript, not a 20 Questions game")
        self.transcript = transcript
        self.record = GameRecord.read(transcript.meta)
        if self.record.condition not in PROTOCOLS:
            raise ConfigError(f"transcript {transcript.id}: unknown condition {self.record.condition!r}")
        self.model = model
        self.table = table if table is not None else load_table(self.record.objects)
        self.labels = _labels_of(self.record)
        stored = GenerateConfig(**self.record.config) if self.record.config else None
        self.config = DEFAULT_CONFIG.merged(stored).merged(config)
        self.rng = rng or random.Random(self.config.seed)
        self.path: Path | None = None
        self.nodes: dict[int, NodeAnalysis] = {}  # the latest analysis at each turn
        self._line: list[QA] | None = None
        self._remaining: dict[int, list[str]] = {}
        self._posteriors: dict[tuple[int, tuple[str, ...] | None], Posterior] = {}
        self._checker: FitChecker | None = None
        self._fits: dict[tuple[str, int], RevealFit] = {}
        self._agent: tuple[tuple, Agent] | None = None

    # -- making and opening ------------------------------------------------------------------
    @classmethod
    def new(cls, model: Model, *, condition: str = UNCOMMITTED, secret: str | None = None,
            table: ObjectTable | None = None, labels: LabelSet | None = None, config: GenerateConfig | None = None,
            answer_format: str | None = AUTO, questioner: str = "human", rng: random.Random | None = None) -> "Game":
        """A new game with ``model`` as the answerer. ``secret``: the committed condition's object
        (required there, refused elsewhere: the private and sealed answerers choose their own)."""
        if condition not in PROTOCOLS:
            raise SettingError("condition", f"expected one of {', '.join(PROTOCOLS)}", repr(condition))
        if condition == COMMITTED and not secret:
            raise SettingError("secret", "the committed condition needs a secret")
        if condition != COMMITTED and secret:
            raise SettingError("secret", f"the {condition} condition takes no secret from the tool")
        table = table if table is not None else load_table()
        labels = labels or LabelSet()
        if answer_format == AUTO:
            answer_format = default_answer_format(model)
        record = GameRecord(condition=condition, secret=secret, model=model.name, questioner=questioner,
                            labels=labels.model_dump()["labels"],
                            config=config.model_dump(exclude_unset=True) if config else {},
                            objects=table.name, answer_format=answer_format, answers=answer_route(model))
        title = f"20 Questions ({condition}{': ' + secret if secret else ''})"
        transcript = Transcript(kind="twentyq", title=title)
        record.write(transcript.meta)
        return cls(transcript, model, table=table, rng=rng)

    @classmethod
    def open(cls, transcript: Transcript, model: Model | None, *, config: GenerateConfig | None = None,
             rng: random.Random | None = None) -> "Game":
        """A saved game, with ``model`` as its answerer (the same persona, secret or memory); None
        to read it only (its main line, messages, objects still possible)."""
        return cls(transcript, model, config=config, rng=rng)

    def save(self, directory: Path | str | None = None, path: Path | str | None = None) -> Path:
        """Write the transcript (atomically); later saves go to the same file."""
        from improv.transcripts.store import save

        self._store()
        self.path = save(self.transcript, directory, path or self.path)
        return self.path

    def _store(self) -> None:
        self.record.write(self.transcript.meta)

    # -- settings ---------------------------------------------------------------------------
    @property
    def condition(self) -> str:
        return self.record.condition

    @property
    def secret(self) -> str | None:
        """The object the answerer holds: the tool's secret, or its own private choice (None: none)."""
        return self.record.secret

    @property
    def _builtin(self) -> bool:
        """Played by the built-in model (its private memory is shown in its trained wording)."""
        return (self.record.model or "").split("/", 1)[0] == "organism"

    @property
    def started(self) -> bool:
        return self.record.condition not in (PRIVATE, SEALED) or bool(self.record.memory)

    def agent(self) -> Agent:
        """The answerer as it is now: persona, secret or private memory, generation settings
        (built once per state: the personas are read from disk)."""
        key = (self.record.condition, self.record.secret, len(self.record.memory), id(self.model))
        if self._agent is None or self._agent[0] != key:
            self._agent = (key, self._make_agent())
        return self._agent[1]

    def _make_agent(self) -> Agent:
        from improv.personas import get_persona

        cond, secret = self.record.condition, self.record.secret
        if cond == COMMITTED or (cond == PRIVATE and secret and self._builtin):
            # the built-in model reads a held object only in its trained wording
            return Agent(self.model, get_persona("twentyq-secret"), self.config, {"secret": secret})
        host = get_persona("twentyq-host")
        if cond == PRIVATE and self.record.memory:
            memory = "\n".join(m.text.strip() for m in self.record.memory)
            host = host.model_copy(update={"name": "twentyq-memory",
                                           "system_prompt": host.system_prompt + MEMORY_BLOCK.format(memory=memory)})
        return Agent(self.model, host, self.config)

    def _persona(self, agent: Agent) -> str | None:
        return self.transcript.add_persona(agent.persona) if agent.persona else None

    # -- the main line ----------------------------------------------------------------------
    def _opening(self) -> str | None:
        """The last turn before the first question (the sealed protocol's seal), or None."""
        return self.record.seal.turn_id if self.record.seal else None

    @property
    def exchanges(self) -> list[QA]:
        """The answered questions of the main line (computed once per change)."""
        if self._line is None:
            leaf = self.record.main_leaf or self.transcript.active
            path = self.transcript.path(leaf) if leaf else []
            out: list[QA] = []
            for i, turn in enumerate(path):
                q = read_meta(turn.meta)
                if not isinstance(q, QuestionMeta) or q.give_up or q.seal or turn.role != "user":
                    continue
                reply = path[i + 1] if i + 1 < len(path) else None
                a = read_meta(reply.meta) if reply is not None else None
                if not isinstance(a, AnswerMeta):
                    break
                out.append(self._qa(len(out) + 1, turn, q, reply, a))
            self._line = out
        return self._line

    def _qa(self, number: int, q_turn: Turn, q: QuestionMeta, a_turn: Turn, a: AnswerMeta) -> QA:
        question = q.question or q_turn.content
        return QA(number=number, question=question, answer=a_turn.content,
                  label=a.label or parse_answer(a_turn.content, self.labels), p_yes=a.p_yes,
                  prompt=q_turn.content if q_turn.content != question else None, source=a.source,
                  p_other=a.answer_dist.p_other if a.answer_dist else None,
                  attribute=q.attribute, question_id=q_turn.id, answer_id=a_turn.id)

    def _changed(self) -> None:
        self._line = None
        self._store()

    def node(self, at: int | None) -> int:
        """``at`` checked against the game (None: the last turn)."""
        n = len(self.exchanges)
        if at is None:
            return n
        if not 0 <= at <= n:
            raise SettingError("turn", f"the game has {n} answered questions (use 0..{n})", str(at))
        return at

    def node_id(self, at: int) -> str | None:
        """The turn a node's continuations hang from."""
        return self.exchanges[at - 1].answer_id if at else self._opening()

    def history(self, at: int | None = None) -> list[Message]:
        """The visible conversation up to node ``at`` (what the answerer sees, before its persona)."""
        leaf = self.node_id(self.node(at))
        return self.transcript.messages(leaf) if leaf else []

    def answerer_messages(self, at: int | None = None, then: str | None = GIVE_UP) -> list[Message]:
        """The exact message list the answerer is sent at node ``at``: its system prompt (with the
        secret or private memory), the visible history, then ``then`` (default the give-up question;
        the next question as sent with ``then="question"``; nothing with None)."""
        at = self.node(at)
        history = self.history(at)
        if then == "question":
            if at >= len(self.exchanges):
                raise ConfigError(f"turn {at}: no question {at + 1} in this game")
            qa = self.exchanges[at]
            history.append(Message(role="user", content=qa.prompt or qa.question))
        elif then is not None:
            history.append(Message(role="user", content=then))
        return self.agent().messages(history)

    def remaining(self, at: int | None = None) -> list[str]:
        """Table objects that no yes/no answer up to ``at`` rules out (cached per turn)."""
        at = self.node(at)
        if at not in self._remaining:
            self._remaining[at] = self.checker.possible([(qa.question, qa.label) for qa in self.exchanges[:at]])
        return self._remaining[at]

    @property
    def checker(self) -> FitChecker:
        if self._checker is None:
            self._checker = FitChecker(self.table, labels=self.labels)
        return self._checker

    def use_judge(self, checker: FitChecker) -> None:
        """Decide fit with ``checker`` (a judge model for objects/questions outside the table)."""
        if checker is not self._checker:
            self._checker, self._fits, self._remaining = checker, {}, {}

    # -- playing -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Private and sealed: the answerer chooses its object in a private call (no-op otherwise,
        and once only). Up to `CHOICE_TRIES` samples, the first that names an object."""
        if self.started:
            return
        prompt = choose_prompt(self.model)
        agent = self.agent()
        choice, text = None, ""
        for _ in range(CHOICE_TRIES):
            completion = await agent.respond([Message(role="user", content=prompt)])
            text = completion.choices[0].text
            reveal = read_reveal(text.replace("<secret>", " ").replace("</secret>", " "), self.table,
                                 completion.choices[0].finish_reason, self.labels)
            if reveal.is_object:
                choice = reveal.label
                break
        self.record.memory.append(MemoryEntry(at=0, text=text, prompt=prompt, choice=choice))
        self.record.secret = choice
        if self.record.condition == SEALED:
            salt = _secrets.token_hex(8)
            digest = seal_digest(salt, choice or "")
            q = self.transcript.add(Turn(role="user", content=SEAL_REQUEST, meta=dump(QuestionMeta(number=0, seal=True))))
            s = self.transcript.add(Turn(parent=q.id, role="assistant", content=f"Sealed: sha256 {digest}",
                                         persona=self._persona(agent), system_prompt=agent.system_prompt,
                                         scripted=True, meta=dump(SealMeta())))
            self.record.seal = Seal(salt=salt, digest=digest, turn_id=s.id)
            self.record.main_leaf = s.id
        self._changed()

    async def ask(self, question: str) -> QA:
        """Put ``question`` to the answerer after the main line's last answer; return the answer."""
        question = question.strip()
        if not question:
            raise ConfigError("empty question")
        await self.start()
        number = len(self.exchanges) + 1
        parent = self.node_id(number - 1)
        q = QuestionMeta(number=number, question=question, attribute=self.table.attribute_for_question(question))
        q_turn = self.transcript.add(Turn(parent=parent, role="user", content=ask_text(question, self.record.answer_format),
                                          meta=dump(q)))
        agent = self.agent()
        messages = [*self.history(number - 1), q_turn.message()]
        cfg = answer_config(self.model)
        completion = await agent.respond(messages, cfg)
        a_turn = self.transcript.add(await answer_turn(agent, q_turn.id, messages, completion.choices[0], completion,
                                                       self.labels, self.rng, persona=self._persona(agent),
                                                       meta=AnswerMeta(number=number), config=cfg))
        self.record.main_leaf = a_turn.id
        self.record.questions = number
        self._changed()
        return self.exchanges[-1]

    async def play(self, questioner: Questioner, *, turns: int = 20, reveal: bool = True,
                   on_event: Callable[[GameEvent], Any] | None = None) -> "Game":
        """The questioner loop: up to ``turns`` questions (it may stop sooner), then the reveal."""
        self.record.questioner = questioner.name
        await self.start()
        if on_event and self.record.seal:
            on_event(GameEvent(kind="seal", number=0, text=self.transcript.turn(self.record.seal.turn_id).content))
        while len(self.exchanges) < turns:
            question = await questioner.ask(list(self.exchanges))
            if question is None:
                break
            if on_event:
                on_event(GameEvent(kind="question", number=len(self.exchanges) + 1, text=question))
            qa = await self.ask(question)
            if on_event:
                on_event(GameEvent(kind="answer", number=qa.number, text=qa.answer, label=qa.label))
        if reveal:
            r = await self.reveal()
            if on_event:
                on_event(GameEvent(kind="reveal", number=len(self.exchanges), text=r.content,
                                   label=RevealMeta.model_validate(r.meta).label))
        self._changed()
        return self

    def _give_up_turn(self, at: int) -> Turn:
        parent = self.node_id(at)
        for t in self.transcript.children(parent):
            m = read_meta(t.meta)
            if t.role == "user" and isinstance(m, QuestionMeta) and m.give_up:
                return t
        return self.transcript.add(Turn(parent=parent, role="user", content=GIVE_UP,
                                        meta=dump(QuestionMeta(number=at, give_up=True))), activate=False)

    def _reveal_meta(self, choice, at: int, resampled: bool) -> tuple[Reveal, RevealMeta]:
        r = read_reveal(choice.text, self.table, choice.finish_reason, self.labels)
        seal = self.record.seal
        opens = (seal_digest(seal.salt, r.label) == seal.digest) if seal is not None and r.is_object else None
        return r, RevealMeta(at=at, label=r.label, in_table=r.in_table, non_reveal=r.non_reveal, resampled=resampled,
                             seal_matches=opens)

    async def reveal(self) -> Turn:
        """The main line's reveal: the give-up question after the last answer and one reply."""
        await self.start()
        at = len(self.exchanges)
        give_up = self._give_up_turn(at)
        agent = self.agent()
        completion = await agent.respond([*self.history(at), give_up.message()])
        choice = completion.choices[0]
        _, meta = self._reveal_meta(choice, at, False)
        turn = self.transcript.add(reply_turn(agent, give_up.id, choice, completion, persona=self._persona(agent),
                                              meta=dump(meta)))
        self.record.main_leaf = turn.id
        self._changed()
        return turn

    # -- analysis ---------------------------------------------------------------------------
    async def resample(self, at: int | None = None, *, k: int = 16, config: GenerateConfig | None = None) -> RevealSample:
        """Ask the give-up question after ``at`` answers K times in ONE n=K call; the reveals are
        added as sibling branches (never the main line)."""
        await self.start()
        at = self.node(at)
        agent = self.agent()
        give_up = self._give_up_turn(at)
        completion = await agent.respond([*self.history(at), give_up.message()], GenerateConfig(n=k).merged(config))
        persona = self._persona(agent)
        texts, reveals, ids, opened = [], [], [], []
        for choice in completion.choices:
            reveal, meta = self._reveal_meta(choice, at, True)
            turn = self.transcript.add(reply_turn(agent, give_up.id, choice, completion, persona=persona, meta=dump(meta)),
                                       activate=False)
            texts.append(choice.text)
            reveals.append(reveal)
            ids.append(turn.id)
            opened.append(meta.seal_matches)
        self._store()
        return RevealSample(at=at, k=len(reveals), texts=texts, objects=[r.label for r in reveals], reveals=reveals,
                            distribution=reveal_distribution(reveals), turn_ids=ids,
                            seal_matches=sum(1 for o in opened if o) if self.record.seal else None)

    async def fits(self, objects: Sequence[str], at: int | None = None) -> tuple[list[RevealFit], Consistency]:
        """Fit of each object reveal to the answers up to ``at`` (each (object, turn) checked once);
        non-reveals are left out (counted elsewhere)."""
        at = self.node(at)
        objects = [o for o in objects if o != NON_REVEAL]
        qas = self.exchanges[:at]
        pairs = [(qa.question, qa.label) for qa in qas]
        checkable = [qa.label in ("yes", "no") for qa in qas]
        for obj in dict.fromkeys(objects):
            if (obj, at) not in self._fits:
                self._fits[(obj, at)] = reveal_fit(obj, await self.checker.fit_all(obj, pairs), checkable)
        fits = [self._fits[(o, at)] for o in objects]
        return fits, consistency(fits)

    async def analyse(self, at: int | None = None, *, k: int = 16, exact: bool = False,
                      config: GenerateConfig | None = None) -> NodeAnalysis:
        """Resample the reveal at ``at`` and read it: distribution, fit, objects still possible,
        the share naming the held object, and (``exact``) the exact posterior. Kept in `nodes`."""
        sample = await self.resample(at, k=k, config=config)
        fits, cons = await self.fits(sample.objects, sample.at)
        secret = self.record.secret
        node = NodeAnalysis(
            at=sample.at, condition=self.record.condition, secret=secret, remaining=self.remaining(sample.at),
            sample=sample, fits={f.object: f for f in fits}, consistency=cons,
            secret_share=sample.distribution.share(secret) if secret else None,
            posterior=await self.exact_posterior(sample.at) if exact else None,
        )
        self.nodes[sample.at] = node
        return node

    async def exact_posterior(self, at: int | None = None, candidates: Sequence[str] | None = None) -> Posterior:
        """P(object) ∝ P("It was a X." | history, give-up question), scored in chunks of
        `SCORE_CHUNK` candidates; computed once per turn."""
        if not self.model.capabilities.score:
            raise CapabilityError(f"{self.model.name}: the exact posterior needs a backend that can score "
                                  "continuations (hf/, organism)")
        await self.start()
        at = self.node(at)
        key = (at, tuple(candidates) if candidates else None)
        if key not in self._posteriors:
            names = list(candidates or self.table.objects)
            messages = self.answerer_messages(at)
            sentences = [reveal_sentence(c) for c in names]
            scores: list[float] = []
            for i in range(0, len(sentences), SCORE_CHUNK):
                scores += await self.model.score(messages, sentences[i:i + SCORE_CHUNK])
            self._posteriors[key] = posterior_from_scores(names, scores)
        return self._posteriors[key]

    def posterior_at(self, at: int) -> Posterior | None:
        """The exact posterior over the whole table at ``at``, if it was computed (no model call)."""
        return self._posteriors.get((at, None))

    def entropy_by_turn(self) -> dict[int, float]:
        """Reveal entropy (bits) of the latest analysis at each turn that named any object."""
        return {t: n.sample.distribution.entropy_bits for t, n in sorted(self.nodes.items())
                if n.sample.distribution.entropy_bits is not None}

    def exact_entropy_by_turn(self) -> dict[int, float]:
        """The exact posterior's entropy (bits) at each turn where it was computed."""
        return {t: p.entropy_bits for (t, c), p in sorted(self._posteriors.items()) if c is None}

    async def posterior_curve(self, candidates: Sequence[str] | None = None) -> PosteriorCurve:
        posts = [await self.exact_posterior(t, candidates) for t in range(len(self.exchanges) + 1)]
        ents = [p.entropy_bits for p in posts]
        return PosteriorCurve(posteriors=posts, entropies=ents, information_gain=information_gain(ents),
                              questions=[qa.question for qa in self.exchanges])

    async def mass_test(self, at: int | None = None, *, candidates: Sequence[str] | None = None, k: int = 8,
                        record: bool = True) -> MassTest:
        """Ask "Is it X?" for each candidate in its own branch; sum P(yes).

        P(yes) is P(yes | yes or no) at the first token where the backend gives logprobs (one
        sample each), else the share of yes among ``k`` parsed samples (invalid ones count as not
        yes). The result says beside Σ how the mass is spread and flags "no to everything"."""
        await self.start()
        at = self.node(at)
        names = list(candidates or self.table.objects)
        agent = self.agent()
        parent = self.node_id(at)
        use_logprobs = self.model.capabilities.logprobs
        persona = self._persona(agent)
        rng = random.Random(0)
        others: list[float] = []
        base = self.history(at)

        async def one(obj: str) -> float:
            question = ask_text(f"Is it {article(obj)}?", self.record.answer_format)
            cfg = answer_config(self.model, GenerateConfig(n=1 if use_logprobs else k))
            history = [*base, Message(role="user", content=question)]
            completion = await agent.respond(history, cfg)
            if record:
                q_turn = self.transcript.add(Turn(parent=parent, role="user", content=question,
                                                  meta=dump(QuestionMeta(number=at + 1, probe="mass"))), activate=False)
                for choice in completion.choices:
                    self.transcript.add(await answer_turn(agent, q_turn.id, history, choice, completion, self.labels, rng,
                                                          persona=persona, meta=AnswerMeta(probe="mass"), config=cfg),
                                        activate=False)
            if use_logprobs:
                choice = completion.choices[0]
                dist = answer_distribution(choice.logprobs, self.labels)
                if dist is None or dist.p_yes_given_answer is None:
                    dist = await scored_answer(agent, history, choice, self.labels)
                if dist is not None and dist.p_yes_given_answer is not None:
                    others.append(dist.p_other)
                    return dist.p_yes_given_answer
            chosen = [parse_answer(c.text, self.labels) for c in completion.choices]
            return sum(1 for lab in chosen if lab == "yes") / len(chosen)

        values = await asyncio.gather(*(one(c) for c in names))
        self._store()
        return mass_test_summary(dict(zip(names, values)), source="logprobs" if use_logprobs else "samples",
                                 k=1 if use_logprobs else k, p_other=others)

    async def flips(self, question: int, *, k: int = 16, seed: int = 0) -> FlipSummary:
        """Resample the answer to question ``question`` (1-based) K times: in one n=K call, or where
        the backend gives logprobs, K labels drawn from one call's answer distribution."""
        qas = self.exchanges
        if not 1 <= question <= len(qas):
            raise SettingError("question", f"the game has questions 1..{len(qas)}", str(question))
        agent = self.agent()
        target = qas[question - 1]
        n = 1 if self.model.capabilities.logprobs else k
        history = [*self.history(question - 1), Message(role="user", content=target.prompt or target.question)]
        cfg = answer_config(self.model, GenerateConfig(n=n))
        completion = await agent.respond(history, cfg)
        persona = self._persona(agent)
        rng = random.Random(seed)
        choices = completion.choices if n == k else [completion.choices[0]] * k
        got, pys = [], []
        for choice in choices:
            turn = self.transcript.add(await answer_turn(agent, target.question_id, history, choice, completion,
                                                         self.labels, rng, persona=persona,
                                                         meta=AnswerMeta(number=question, resampled=True), config=cfg),
                                       activate=False)
            a = AnswerMeta.model_validate(turn.meta)
            got.append(a.label)
            pys.append(a.p_yes)
        self._store()
        return flip_summary(got, target.label, pys)

    def answers_fit_secret(self) -> float | None:
        """Share of the yes/no answers the table decides for the held object that agree with it."""
        if self.record.secret is None:
            return None
        decided = [(self.checker.truth_from_table(self.record.secret, qa.question), qa.label)
                   for qa in self.exchanges if qa.label in ("yes", "no")]
        decided = [(t, lab) for t, lab in decided if t is not None]
        return sum(1 for t, lab in decided if t == (lab == "yes")) / len(decided) if decided else None


async def play_games(model: Model, *, condition: str = UNCOMMITTED, games: int = 10, turns: int = 6,
                     table: ObjectTable | None = None, seed: int = 0, questions: Sequence[str] | None = None,
                     config: GenerateConfig | None = None, reveal: bool = True, concurrency: int = 4) -> list[Game]:
    """``games`` games under one protocol, questions from a seeded random order of the table's
    attribute questions (or ``questions``), committed secrets drawn from the table (seeded): the
    same games `games.batch.run_batch(conditions=[condition])` plays with the same seed, without the
    analysis. Public and stable."""
    from .batch import seeded_games

    table = table if table is not None else load_table()
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(setup) -> Game:
        async with sem:
            game = Game.new(model, condition=condition, secret=setup.secret, table=table, config=config,
                            questioner=setup.questioner.name, rng=setup.rng)
            return await game.play(setup.questioner, turns=turns, reveal=reveal)

    return list(await asyncio.gather(*(one(s) for s in seeded_games(table, condition, games, turns, seed, questions))))


def answerer_messages(transcript: Transcript, at: int, then: str | None = GIVE_UP,
                      model: Model | None = None) -> list[Message]:
    """The exact message list a saved game's answerer was sent at node ``at`` (see
    `Game.answerer_messages`): no model call, so ``model`` is optional. Public and stable."""
    return Game.open(transcript, model).answerer_messages(at, then)


def twentyq_remaining(transcript: Transcript) -> dict[str, Any]:
    """A replay scorer (``improv replay --mode rescore --scorer twentyq``): how many objects of the
    game's own table are still possible after the main line's answers (1 = the answers pin one
    object; 0 = the answerer contradicted itself). No model call."""
    game = Game.open(transcript, None)
    remaining = game.remaining()
    probe = game.table.objects[0] if game.table.objects else ""
    # answers the table decides (an attribute question or a guess): the ones that constrain anything
    used = sum(1 for qa in game.exchanges
               if qa.label in ("yes", "no") and game.checker.truth_from_table(probe, qa.question) is not None)
    return {"score": len(remaining), "questions": len(game.exchanges), "used": used, "remaining": remaining[:20]}
