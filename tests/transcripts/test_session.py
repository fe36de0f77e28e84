"""`ChatSession`, the chat object both `improv chat` and the chat screen drive (no front end here)."""

from __future__ import annotations

import asyncio

from improv.agents.agent import Agent
from improv.agents.registry import get_model
from improv.personas import get_persona
from improv.transcripts.session import ChatSession
from improv.transcripts.store import load


def test_a_failed_message_does_not_ride_along_in_later_requests():
    session = ChatSession()
    failed = session.add_user("a message far too long for the model")
    # its reply failed: nothing was added; the next message goes beside it, not after it
    second = session.add_user("short one")
    assert second.parent == failed.parent and failed.meta["unanswered"] is True
    assert [m.content for m in session.history(second.id)] == ["short one"]
    assert failed in session.transcript.turns  # kept in the tree, nothing lost


async def test_reply_streams_regenerates_as_a_sibling_and_saves(tmp_path):
    agent = Agent(get_model("mock/cycle:one|two"), get_persona("trickster"))
    session = ChatSession(out=tmp_path)
    greeting = session.start(agent.persona)
    assert greeting is not None and greeting.meta == {"greeting": True}
    user = session.add_user("hello")
    pieces: list[str] = []
    first = await session.reply(user.id, agent, on_delta=pieces.append)
    assert "".join(pieces) == first.content == "one" and first.finish_reason == "stop"
    assert session.reply_parent(first.id) == user.id
    second = await session.reply(session.reply_parent(first.id), agent)
    assert second.content == "two" and session.position(second.id) == (2, 2)
    assert session.step(second.id, -1) == first.id and session.transcript.active == first.id
    assert session.last_reply() == first.id
    path = session.save()
    assert path.parent == tmp_path and session.save() == path  # the same file on every save
    saved = load(path)
    assert [t.content for t in saved.children(user.id)] == ["one", "two"]
    assert saved.turn(first.id).persona == "trickster" and saved.turn(first.id).system_prompt == agent.system_prompt


class _Slow:
    """An agent stand-in whose stream writes one word and then waits forever."""

    def __init__(self, agent, first: str) -> None:
        self._agent, self._first = agent, first
        self.model, self.persona, self.config, self.system_prompt = agent.model, None, agent.config, None

    def stream(self, messages):
        first = self._first

        class Stream:
            finish_reason = None
            settings = None

            def __aiter__(self):
                return self.gen()

            async def gen(self):
                if first:
                    yield first
                await asyncio.Event().wait()

        return Stream()


async def test_a_cancelled_reply_is_kept_with_its_text_or_dropped_without():
    session = ChatSession()
    user = session.add_user("talk slowly")
    for first, kept in (("partial", True), ("", False)):
        started = []
        task = asyncio.create_task(session.reply(user.id, _Slow(Agent(get_model("mock/echo")), first), on_start=started.append))
        for _ in range(20):
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        (turn,) = started
        assert session.is_kept(turn) is kept
        if kept:
            assert turn.content == "partial" and turn.finish_reason == "cancelled" and turn.meta["cancelled"] is True
    assert [t.role for t in session.transcript.turns] == ["user", "assistant"]
