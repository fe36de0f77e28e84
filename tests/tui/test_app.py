"""The terminal app, driven with Textual's Pilot against scripted (mock) and test-only backends."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

import improv.agents.registry as agent_registry
from improv.agents.backend import Backend
from improv.agents.errors import ProviderError
from improv.agents.types import Choice, Completion, GenerateConfig
from improv.transcripts.store import load
from improv.tui import registry
from improv.tui.app import ImprovApp
from improv.tui.registry import ScreenEntry
from improv.tui.screens.chat import ChatScreen
from improv.tui.screens.home import HomeScreen
from improv.tui.widgets.messages import MessageBubble

SIZE = (110, 40)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    return tmp_path


class SlowBackend(Backend):
    """Writes one word, then waits until cancelled (a reply that never finishes by itself)."""

    name = "test/slow"

    async def generate(self, messages, config: GenerateConfig) -> Completion:
        return Completion(model=self.name, choices=[Choice(text="partial", finish_reason="stop")])

    async def stream(self, messages, config):
        yield "partial"
        await asyncio.Event().wait()


class BrokenBackend(Backend):
    """Fails mid-stream, as a provider that drops the connection would."""

    name = "test/broken"

    async def generate(self, messages, config):
        raise ProviderError("test/broken: connection reset by peer", retryable=False)

    async def stream(self, messages, config):
        raise ProviderError("test/broken: connection reset by peer", retryable=False)
        yield ""  # pragma: no cover


def create_test_backend(rest: str) -> Backend:
    """The factory of the test-only provider ``test/``: ``test/slow`` and ``test/broken``."""
    return {"slow": SlowBackend, "broken": BrokenBackend}[rest]()


@pytest.fixture
def test_backends(monkeypatch):
    """A ``test/`` provider, registered like any other, so the run spec accepts its model strings."""
    monkeypatch.setitem(agent_registry.PROVIDERS, "test", agent_registry.Provider(
        "test", "tests.tui.test_app:create_test_backend", "test/slow", "test-only backends"))


async def settle(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def replies(screen: ChatScreen) -> list[MessageBubble]:
    return [b for b in screen.view.bubbles() if b.role == "assistant"]


async def send(pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")


async def test_send_message_reply_and_transcript(data_dir):
    app = ImprovApp("mock/cycle:first reply|second reply", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await send(pilot, "hello")
        await settle(app, pilot)
        texts = screen.view.texts()
        assert texts[0].endswith("hello")
        assert texts[-1].endswith("first reply")
        assert screen.query_one("#prompt", Input).value == ""
        path = screen.session.saved
        assert path is not None and path.parent == data_dir / "transcripts"
        await send(pilot, "again")
        await settle(app, pilot)
        assert screen.view.texts()[-1].endswith("second reply")
    saved = load(path)
    assert [(t.role, t.content) for t in saved.path()] == [
        ("user", "hello"),
        ("assistant", "first reply"),
        ("user", "again"),
        ("assistant", "second reply"),
    ]
    reply = saved.path()[1]
    assert reply.model == "mock/cycle:first reply|second reply"
    assert reply.finish_reason == "stop" and reply.scripted


async def test_persona_greeting_is_first_assistant_turn(data_dir):
    app = ImprovApp("mock/echo", "trickster", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        first = screen.view.bubbles()[0]
        assert first.role == "assistant" and "greeting" in first.heading
        assert first.body == "Ask me anything, mortal. I know all."
        await send(pilot, "is the sky green?")
        await settle(app, pilot)
        path = screen.session.saved
    saved = load(path)
    turns = saved.path()
    assert turns[0].meta == {"greeting": True} and turns[0].content == first.body
    assert turns[2].persona == "trickster" and "trickster" in saved.personas
    assert turns[2].system_prompt == saved.personas["trickster"].system_prompt


async def test_regenerate_makes_sibling_and_navigator_steps(data_dir):
    app = ImprovApp("mock/cycle:A|B|C", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "pick one")
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        (reply,) = replies(screen)
        assert reply.body == "B" and reply.branch == (2, 2)
        assert "‹ 2/2 ›" in screen.view.texts()[-1]
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert replies(screen)[0].body == "C" and replies(screen)[0].branch == (3, 3)
        await pilot.press("alt+left")
        await pilot.pause()
        assert replies(screen)[0].body == "B" and "‹ 2/3 ›" in screen.view.texts()[-1]
        await pilot.press("alt+left", "alt+left")  # the second one is at the first branch: stays
        await pilot.pause()
        assert replies(screen)[0].body == "A" and replies(screen)[0].branch == (1, 3)
        await pilot.press("alt+right")
        await pilot.pause()
        assert replies(screen)[0].body == "B"
        # "[" and "]" are text while the prompt has focus ...
        await pilot.press("[")
        assert screen.query_one("#prompt", Input).value == "["
        screen.query_one("#prompt", Input).value = ""
        # ... and step branches when a reply is focused
        replies(screen)[0].focus()
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert replies(screen)[0].body == "C"
        assert app.focused is replies(screen)[0]
        path = screen.session.saved
    saved = load(path)
    user = saved.path()[0]
    assert [t.content for t in saved.children(user.id)] == ["A", "B", "C"]
    assert saved.turn(saved.active).content == "C"  # the branch in view is saved


async def test_branch_of_earlier_reply_keeps_its_continuation(data_dir):
    app = ImprovApp("mock/cycle:one|two|three", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "first")
        await settle(app, pilot)
        await send(pilot, "second")
        await settle(app, pilot)  # replies: one, two
        first_reply = replies(screen)[0]
        first_reply.focus()
        await pilot.press("ctrl+r")  # regenerate the earlier reply: a new branch from "first"
        await settle(app, pilot)
        assert [b.body for b in screen.view.bubbles()] == ["first", "three"]
        await pilot.press("alt+left")  # back to the old branch, with its continuation
        await pilot.pause()
        assert [b.body for b in screen.view.bubbles()] == ["first", "one", "second", "two"]


async def test_escape_cancels_a_slow_reply_and_keeps_partial(data_dir, test_backends):
    app = ImprovApp("test/slow", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "talk slowly")
        for _ in range(200):  # wait for the first word to arrive
            await pilot.pause()
            if replies(screen) and replies(screen)[0].body == "partial":
                break
        assert screen.busy
        await pilot.press("escape")
        await settle(app, pilot)
        assert not screen.busy
        (reply,) = replies(screen)
        assert reply.body == "partial" and reply.note == "cancelled"
        assert "(cancelled)" in screen.view.texts()[-1]
        # the app still works: a new message gets sent
        assert isinstance(app.screen, ChatScreen)
        path = screen.session.saved
    saved = load(path)
    turn = saved.path()[-1]
    assert turn.content == "partial" and turn.finish_reason == "cancelled" and turn.meta["cancelled"] is True


async def test_model_text_is_shown_literally(data_dir):
    nasty = "[bold red]x[/] \x1b[2J\x07 [link=http://e.vil]y[/link]"
    app = ImprovApp("mock/fixed:" + nasty, start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "[i]me too[/i]")
        await settle(app, pilot)
        user, reply = screen.view.bubbles()
        shown = reply.visual.plain if hasattr(reply.visual, "plain") else str(reply.visual)
        assert "[bold red]x[/]" in shown
        assert "\\x1b[2J\\x07" in shown and "\x1b" not in shown and "\x07" not in shown
        assert "[link=http://e.vil]y[/link]" in shown
        assert "[i]me too[/i]" in (user.visual.plain if hasattr(user.visual, "plain") else str(user.visual))
        # no style from the text made it into the rendering
        spans = getattr(reply.visual, "spans", [])
        assert not any("red" in str(s.style) or "link" in str(s.style) for s in spans)
        # and what reached the screen is the literal text
        lines = [reply.render_line(y).text for y in range(reply.size.height)]
        on_screen = "\n".join(lines)
        assert "[bold red]x[/] \\x1b[2J\\x07" in on_screen, on_screen
        path = screen.session.saved
    assert load(path).path()[-1].content == nasty  # the transcript keeps the raw text


async def test_bad_model_string_notifies_and_app_keeps_running(data_dir):
    app = ImprovApp("nope/model", start="c")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "hello?")
        await settle(app, pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "unknown provider 'nope'" in errors[-1].message
        assert "\n" not in errors[-1].message
        assert replies(screen) == []  # no empty reply left behind
        # fix the model string; ctrl+r answers the message that got no reply
        model = screen.query_one("#model", Input)
        model.value = "mock/fixed:fine now"
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert [b.body for b in screen.view.bubbles()] == ["hello?", "fine now"]


async def test_provider_error_mid_stream_is_a_notice(data_dir, test_backends):
    app = ImprovApp("test/broken", start="c")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await send(pilot, "hello?")
        await settle(app, pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "connection reset" in errors[-1].message
        assert isinstance(app.screen, ChatScreen) and replies(app.screen) == []
        path = app.screen.session.saved
    assert [t.role for t in load(path).turns] == ["user"]


async def test_missing_template_variable_is_a_notice_and_vars_fix_it(data_dir):
    app = ImprovApp("mock/echo", "twentyq-secret", start="c")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "is it alive?")
        await settle(app, pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "secret" in errors[-1].message
        screen.query_one("#vars", Input).value = "secret=cat"
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        path = screen.session.saved
    reply = load(path).path()[-1]
    assert reply.role == "assistant" and "cat" in reply.system_prompt


async def test_home_screen_opens_chat_and_comes_back(data_dir):
    app = ImprovApp("mock/echo")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("c")
        await pilot.pause()
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await send(pilot, "q is a letter, not quit")
        await settle(app, pilot)
        assert not app._exit
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("c")  # resumes the same conversation
        await pilot.pause()
        assert app.screen is chat and chat.view.texts()[-1].endswith("q is a letter, not quit")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not app._exit
        await pilot.press("q")
        await pilot.pause()
        assert app._exit  # q on the home screen quits
    assert app.return_code == 0


async def test_home_screen_tolerates_a_missing_screen_module(data_dir, monkeypatch):
    monkeypatch.setattr(
        registry,
        "SCREENS",
        registry.SCREENS + [ScreenEntry("z", "Ghost", "improv.tui.screens.no_such_screen:Ghost", "not written yet")],
    )
    app = ImprovApp("mock/echo")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        notes = [n.message for n in app._notifications]
        assert any("Ghost: not available" in m and "no_such_screen" in m for m in notes)
        await pilot.press("c")  # the rest still works
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)


async def test_persona_change_starts_a_new_conversation(data_dir):
    app = ImprovApp("mock/echo", "assistant", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await send(pilot, "hi")
        await settle(app, pilot)
        first = screen.session.saved
        screen.query_one("#persona").value = "trickster"
        await pilot.pause()
        await pilot.pause()
        assert screen.persona.name == "trickster"
        assert [b.body for b in screen.view.bubbles()] == ["Ask me anything, mortal. I know all."]
        await send(pilot, "hello")
        await settle(app, pilot)
        assert screen.session.saved != first
    assert len(list((data_dir / "transcripts").glob("*.json"))) == 2


async def test_ctrl_c_quits_even_from_the_message_line(data_dir):
    app = ImprovApp("mock/echo", start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app._exit


def test_improv_tui_command_checks_options_then_runs_the_app(monkeypatch, capsys, tmp_path):
    from improv.cli import main

    launched = []
    monkeypatch.setattr(ImprovApp, "run", lambda self: launched.append(self.options))
    assert main(["tui", "-m", "nope/x"]) == 2
    assert "unknown provider 'nope'" in capsys.readouterr().err and not launched
    assert main(["tui", "-p", "no-such-persona"]) == 2 and not launched
    assert main(["tui", "-m", "mock/echo", "-p", "trickster", "--var", "a=b", "--out", str(tmp_path)]) == 0
    (options,) = launched
    assert (options.model, options.persona, options.variables, options.out) == ("mock/echo", "trickster", {"a": "b"}, tmp_path)
    assert main([]) == 0 and len(launched) == 2  # `improv` alone opens the app
