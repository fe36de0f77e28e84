"""The transcript: one conversation as a tree of turns.

Turns are stored flat with ``parent`` links, so a regenerated reply or a resampled 20
Questions reveal is a sibling branch in the same file. ``active`` is the leaf of the branch
the user is looking at. Each assistant turn records the model, persona and config that made it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from improv.agents.types import GenerateConfig, Message, TokenLogprob, Usage
from improv.personas.schema import Persona

SCHEMA_VERSION = 1


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    parent: str | None = None
    role: Literal["system", "user", "assistant"]
    content: str
    created: datetime = Field(default_factory=now)
    model: str | None = Field(None, description="Model string that wrote this turn (assistant turns).")
    persona: str | None = Field(None, description="Name of the persona (key into Transcript.personas).")
    system_prompt: str | None = Field(None, description="The rendered system prompt the model saw, if any.")
    config: GenerateConfig | None = None
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] | None = None
    usage: Usage | None = None
    scripted: bool = False
    meta: dict[str, Any] = Field(default_factory=dict, description="Tool-specific labels, e.g. {'kind': 'reveal'}.")

    def message(self) -> Message:
        return Message(role=self.role, content=self.content)


class Transcript(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str = Field(default_factory=new_id)
    title: str = ""
    kind: str = Field("chat", description="chat, twentyq, introspection, replay, ...")
    created: datetime = Field(default_factory=now)
    updated: datetime = Field(default_factory=now)
    personas: dict[str, Persona] = Field(default_factory=dict, description="Personas used, by name, as they were.")
    turns: list[Turn] = Field(default_factory=list)
    active: str | None = Field(None, description="Leaf id of the branch in view.")
    source: str | None = Field(None, description="Id or path of the transcript this one replays.")
    meta: dict[str, Any] = Field(default_factory=dict)

    # -- tree navigation -------------------------------------------------------------------
    def turn(self, turn_id: str) -> Turn:
        for t in self.turns:
            if t.id == turn_id:
                return t
        raise KeyError(turn_id)

    def children(self, turn_id: str | None) -> list[Turn]:
        return [t for t in self.turns if t.parent == turn_id]

    def siblings(self, turn_id: str) -> list[Turn]:
        """The turn and its alternatives (same parent, same role), in creation order."""
        turn = self.turn(turn_id)
        return [t for t in self.turns if t.parent == turn.parent and t.role == turn.role]

    def path(self, leaf: str | None = None) -> list[Turn]:
        """Turns from the root to ``leaf`` (default: the active leaf)."""
        leaf = leaf if leaf is not None else self.active
        out: list[Turn] = []
        index = {t.id: t for t in self.turns}
        while leaf is not None:
            turn = index[leaf]
            out.append(turn)
            leaf = turn.parent
        return out[::-1]

    def messages(self, leaf: str | None = None) -> list[Message]:
        return [t.message() for t in self.path(leaf)]

    def leaves(self) -> list[Turn]:
        parents = {t.parent for t in self.turns}
        return [t for t in self.turns if t.id not in parents]

    def deepest_leaf(self, turn_id: str) -> str:
        """Follow the latest child from ``turn_id`` down to a leaf."""
        while True:
            kids = self.children(turn_id)
            if not kids:
                return turn_id
            turn_id = kids[-1].id

    # -- growth ----------------------------------------------------------------------------
    def add(self, turn: Turn, *, activate: bool = True) -> Turn:
        if turn.parent is not None:
            self.turn(turn.parent)  # raises KeyError on a dangling parent
        self.turns.append(turn)
        if activate:
            self.active = turn.id
        self.updated = now()
        return turn

    def add_persona(self, persona: Persona) -> str:
        self.personas.setdefault(persona.name, persona)
        return persona.name


def reply_turn(agent, parent: str, choice, completion, *, persona: str | None = None, **fields) -> Turn:
    """The assistant turn for one sample (`Choice`) of ``completion``, made by ``agent``
    (an `agents.Agent`): records the model, persona, rendered system prompt and config, and
    in ``meta["settings"]`` the settings the backend says were in force."""
    if completion.settings:
        fields["meta"] = {**fields.get("meta", {}), "settings": completion.settings}
    config = agent.config
    if choice.logprobs is not None and config is not None and not config.logprobs:
        # the call asked for logprobs beyond the agent's own config (a 20 Questions answer does):
        # the stored config must say so, or the stored logprobs look unrequested
        config = config.model_copy(update={"logprobs": True})
    return Turn(
        parent=parent,
        role="assistant",
        content=choice.text,
        model=completion.model,
        persona=persona,
        system_prompt=agent.system_prompt,
        config=config,
        finish_reason=choice.finish_reason,
        logprobs=choice.logprobs,
        scripted=completion.scripted,
        **fields,
    )
