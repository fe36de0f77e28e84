"""A chat session: a conversation with an agent, grown as a transcript tree and saved.

The one chat object that both front ends drive: `improv chat` (lines on stdin/stdout) and the
TUI's chat screen. It owns the transcript, where it is saved, and its branches; the front ends
only render what it returns. Nothing here prints or imports a front end.

A reply is built as a `Turn` that joins the transcript only when it finishes (or is cancelled
with some text), so a failed call leaves no empty turn behind. A cancelled reply is *kept*:
its partial text is stored with ``finish_reason="cancelled"`` and ``meta["cancelled"] = True``;
one cancelled before its first token is discarded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .schema import Transcript, Turn

if TYPE_CHECKING:
    from improv.agents.agent import Agent
    from improv.personas.schema import Persona


class ChatSession:
    def __init__(self, transcript: Transcript | None = None, out: Path | str | None = None) -> None:
        self.transcript = transcript if transcript is not None else Transcript(kind="chat")
        self.out = Path(out) if out else None  # transcript folder; None: the default store
        self.saved: Path | None = None  # where it was last saved

    # -- set-up ----------------------------------------------------------------------------
    def start(self, persona: "Persona | None") -> Turn | None:
        """Record the persona and add its greeting as the first assistant turn (if it has one)."""
        if persona is None:
            return None
        name = self.transcript.add_persona(persona)
        if not persona.greeting:
            return None
        return self.transcript.add(
            Turn(role="assistant", content=persona.greeting, persona=name, meta={"greeting": True})
        )

    # -- growth ----------------------------------------------------------------------------
    def add_user(self, text: str) -> Turn:
        """A new user message on the branch in view. A message left without a reply (its reply
        failed, say it was too long for the model) stays in the tree, marked ``unanswered``, but
        the new message becomes its sibling: one failed message must not ride along in every
        later request."""
        t = self.transcript
        if not t.title:
            t.title = text[:60]
        parent = t.active
        if parent is not None:
            leaf = t.turn(parent)
            if leaf.role == "user":
                leaf.meta["unanswered"] = True
                parent = leaf.parent
        return t.add(Turn(parent=parent, role="user", content=text))

    def reply_parent(self, target: str | None = None) -> str | None:
        """The turn a new reply answers: for a regeneration of ``target`` (an assistant turn) its
        parent; with no target, the active leaf if it is a user turn, else the last reply's parent."""
        t = self.transcript
        if target is None:
            if t.active is None:
                return None
            leaf = t.turn(t.active)
            if leaf.role == "user":
                return leaf.id
            target = leaf.id
        turn = t.turn(target)
        if turn.role != "assistant" or turn.meta.get("greeting"):
            raise ValueError("only a model reply can be regenerated")
        return turn.parent

    def history(self, parent: str | None):
        """The messages up to and including ``parent`` (what the model sees before its reply)."""
        return self.transcript.messages(parent) if parent is not None else []

    def new_reply(self, parent: str | None, agent: "Agent") -> Turn:
        """An assistant turn for ``agent``'s reply to ``parent``, not yet in the transcript."""
        persona = self.transcript.add_persona(agent.persona) if agent.persona else None
        return Turn(
            parent=parent,
            role="assistant",
            content="",
            model=agent.model.name,
            persona=persona,
            system_prompt=agent.system_prompt,
            config=agent.config,
            # scripted models say so in their Completion; a stream carries no flag, so go by provider
            scripted=agent.model.name.startswith("mock/"),
        )

    def finish(self, turn: Turn, *, cancelled: bool = False, finish_reason: str | None = None,
               settings: dict | None = None) -> Turn | None:
        """Add a streamed reply to the transcript (None: cancelled before any text, discarded),
        with the finish reason and settings its stream reported."""
        turn.finish_reason = finish_reason or turn.finish_reason
        if settings:
            turn.meta["settings"] = settings
        if cancelled:
            if not turn.content:
                return None
            turn.finish_reason = "cancelled"
            turn.meta["cancelled"] = True
        elif turn.finish_reason is None:
            turn.finish_reason = "stop"
        return self.transcript.add(turn)

    async def reply(self, parent: str | None, agent: "Agent", *,
                    on_start: Callable[[Turn], None] | None = None,
                    on_delta: Callable[[str], None] | None = None) -> Turn:
        """Stream ``agent``'s reply to ``parent`` into the transcript and return its turn.

        ``on_start(turn)`` is called once the turn exists (before the first token), ``on_delta``
        with each piece of text. Cancelled (the task is cancelled): the partial reply is kept or
        discarded as `finish` says, and the cancellation propagates; the caller reads the outcome
        from the turn it got in ``on_start`` (``is_kept``). Errors propagate and add nothing."""
        turn = self.new_reply(parent, agent)
        if on_start is not None:
            on_start(turn)
        stream = agent.stream(self.history(parent))
        try:
            async for delta in stream:
                turn.content += delta
                if on_delta is not None:
                    on_delta(delta)
        except asyncio.CancelledError:
            self.finish(turn, cancelled=True)
            raise
        self.finish(turn, finish_reason=stream.finish_reason, settings=stream.settings)
        return turn

    def is_kept(self, turn: Turn) -> bool:
        """Whether ``turn`` made it into the transcript (a reply cancelled before its first
        token did not)."""
        return any(t is turn for t in self.transcript.turns)

    def save(self) -> Path:
        """Write the transcript (atomically; the same file from the second save on)."""
        from .store import save

        self.saved = save(self.transcript, self.out) if self.saved is None else save(self.transcript, path=self.saved)
        return self.saved

    # -- branches --------------------------------------------------------------------------
    def position(self, turn_id: str) -> tuple[int, int]:
        """(1-based index, count) of a turn among its siblings."""
        sibs = self.transcript.siblings(turn_id)
        return [s.id for s in sibs].index(turn_id) + 1, len(sibs)

    def step(self, turn_id: str, delta: int) -> str | None:
        """Move the view to the sibling ``delta`` away from ``turn_id`` (and down that branch to
        its latest leaf). Returns the sibling's id, or None at either end."""
        sibs = self.transcript.siblings(turn_id)
        i = [s.id for s in sibs].index(turn_id) + delta
        if not 0 <= i < len(sibs):
            return None
        self.transcript.active = self.transcript.deepest_leaf(sibs[i].id)
        return sibs[i].id

    def last_reply(self) -> str | None:
        """The last model reply on the branch in view (not the greeting)."""
        for turn in reversed(self.transcript.path()):
            if turn.role == "assistant" and not turn.meta.get("greeting"):
                return turn.id
        return None
