"""The typed state of a 20 Questions game, and the one place it is written to / read from a transcript.

A game is stored as a `transcripts.Transcript` (kind ``twentyq``). Its settings are a `GameRecord`
laid flat into ``Transcript.meta`` (the same keys games have always used, so older saved games read
back unchanged); each turn's labels are a `QuestionMeta`, `AnswerMeta` or `RevealMeta` in
``Turn.meta``. Nothing else writes or parses those dicts: `games.game.Game` holds the typed values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .answers import AnswerDistribution

#: the four commitment protocols (issue 19); ``condition`` in saved games
UNCOMMITTED = "uncommitted"  # no secret anywhere in the answerer's context
COMMITTED = "committed"  # the tool puts the secret in the system prompt
PRIVATE = "private"  # the answerer chooses, writes its choice to a private memory kept in its context
SEALED = "sealed"  # the answerer chooses; only a salted hash of the choice is stated, checked at the reveal
PROTOCOLS = (UNCOMMITTED, COMMITTED, PRIVATE, SEALED)


class MemoryEntry(BaseModel):
    """What the answerer wrote in its private memory (private and sealed protocols): stored for
    analysis, never a turn of the visible transcript, never shown to a questioner."""

    at: int = Field(description="Answered questions when it was written (0: before the first question).")
    text: str = Field(description="The answerer's own reply to the private choosing prompt.")
    prompt: str = Field(description="The private prompt it answered.")
    choice: str | None = Field(None, description="The object read from it (canonical if in the table); None if it named none.")


class Seal(BaseModel):
    """A hash commitment: sha256(salt + ':' + object), stated at the start, checked at the reveal."""

    scheme: Literal["sha256"] = "sha256"
    salt: str
    digest: str
    turn_id: str | None = Field(None, description="The visible assistant turn that states it.")


class GameRecord(BaseModel):
    """A game's settings and position (``Transcript.meta``, flat)."""

    model_config = ConfigDict(extra="ignore")

    condition: str = UNCOMMITTED
    secret: str | None = Field(None, description="committed: the tool's secret; private/sealed: the answerer's own choice.")
    model: str | None = None
    questioner: str = "human"
    labels: dict[str, list[str]] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    objects: str = "builtin"
    answer_format: str | None = None
    answers: str = Field("text", description="How answers are read: 'logprobs' (the model's distribution) or 'text'.")
    main_leaf: str | None = None
    questions: int = 0
    memory: list[MemoryEntry] = Field(default_factory=list)
    seal: Seal | None = None

    @field_validator("objects", mode="before")
    @classmethod
    def _old_objects(cls, v):  # games saved before tables had names
        return v or "builtin"

    @field_validator("labels", "config", mode="before")
    @classmethod
    def _none_dict(cls, v):
        return v or {}

    @classmethod
    def read(cls, meta: dict[str, Any]) -> "GameRecord":
        return cls.model_validate(meta)

    def write(self, meta: dict[str, Any]) -> None:
        meta.update(self.model_dump(mode="json"))


class QuestionMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: Literal["question"] = "question"
    number: int | None = None
    question: str | None = Field(None, description="The bare question (the turn's content adds the answer format).")
    attribute: str | None = None
    give_up: bool = False
    probe: str | None = None  # "mass": a mass-test branch
    seal: bool = False  # the opening request to state a seal (sealed protocol)


class AnswerMeta(BaseModel):
    model_config = ConfigDict(extra="allow")  # "settings" from reply_turn

    kind: Literal["answer"] = "answer"
    number: int | None = None
    label: str | None = None
    source: str | None = Field(None, description="'logprobs' / 'scored' (drawn from the model's distribution) or 'text'.")
    p_yes: float | None = None
    answer_dist: AnswerDistribution | None = None
    text_label: str | None = None
    sampled_text: str | None = None
    resampled: bool = False
    probe: str | None = None


class RevealMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: Literal["reveal"] = "reveal"
    at: int | None = None
    label: str
    in_table: bool = False
    non_reveal: str | None = None
    resampled: bool = False
    seal_matches: bool | None = Field(None, description="Sealed protocol: does the revealed object open the seal.")


class SealMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: Literal["seal"] = "seal"


def dump(meta: BaseModel) -> dict[str, Any]:
    """A turn's meta dict: only what is set, so saved games stay small and readable."""
    return meta.model_dump(mode="json", exclude_defaults=True) | {"kind": meta.kind}


def read_meta(meta: dict[str, Any]) -> QuestionMeta | AnswerMeta | RevealMeta | SealMeta | None:
    kind = meta.get("kind")
    cls = {"question": QuestionMeta, "answer": AnswerMeta, "reveal": RevealMeta, "seal": SealMeta}.get(kind)
    return cls.model_validate(meta) if cls else None
