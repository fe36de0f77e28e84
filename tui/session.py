"""A chat session: the transcript tree being grown, where it is saved, and its branches.

Shared by the chat screen and `improv chat`. No Textual import here, and no printing: the
front ends render. A reply is built as a `Turn` that is added to the transcript only when it
finishes (or is cancelled with some text), so a failed call leaves no empty turn behind.

Cancelled replies are *kept*: their partial text is stored with ``finish_reason="cancelled"``
and ``meta["cancelled"] = True``. A reply cancelled before its first token is discarded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from improv.agents.agent import Agent
    from improv.personas.schema import Persona
    from improv.transcripts.schema import Transcript, Turn


def one_line(err: BaseException) -> str:
    """The first line of an error message (what a notice or a CLI error line shows)."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


class ChatSession:
    def __init__(self, transcript: "Transcript | None" = None, out: Path | str | None = None) -> None:
        from improv.transcripts.schema import Transcript

        self.transcript = transcript if transcript is not None else Transcript(kind="chat")
        self.out = Path(out) if out else None
        self.saved: Path | None = None

    # -- set-up ----------------------------------------------------------------------------
    def start(self, persona: "Persona | None") -> "Turn | None":
        """Record the persona and show its greeting as the first assistant turn."""
        from improv.transcripts.schema import Turn

        if persona is None:
            return None
        name = self.transcript.add_persona(persona)
        if not persona.greeting:
            return None
        return self.transcript.add(
            Turn(role="assistant", content=persona.greeting, persona=name, meta={"greeting": True})
        )

    # -- growth ----------------------------------------------------------------------------
    def add_user(self, text: str) -> "Turn":
        """A new user message on the branch in view. A message left without a reply (its reply
        failed, say it was too long for the model) stays in the tree, marked ``unanswered``, but
        the new message becomes its sibling: one failed message must not ride along in every
        later request."""
        from improv.transcripts.schema import Turn

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

    def new_reply(self, parent: str | None, agent: "Agent") -> "Turn":
        """An assistant turn for ``agent``'s reply to ``parent``, not yet in the transcript."""
        from improv.transcripts.schema import Turn

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

    def finish(self, turn: "Turn", *, cancelled: bool = False, finish_reason: str | None = None,
               settings: dict | None = None) -> "Turn | None":
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

    def save(self) -> Path:
        from improv.transcripts.store import save

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
