"""The transcripts browser (TUI key "t"): search, replay what is listed, compare side by side."""

from rich.text import Text
from textual.widgets import Input, Static

from improv.transcripts import Transcript, Turn, save
from improv.transcripts.store import default_dir
from improv.tui.app import ImprovApp


def chat(title: str, question: str, answer: str) -> Transcript:
    t = Transcript(title=title)
    u = t.add(Turn(role="user", content=question))
    t.add(Turn(parent=u.id, role="assistant", content=answer, model="mock/old"))
    return t


def text_of(screen, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def test_search_replay_and_compare(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    save(chat("fruit", "banana?", "hello"), default_dir())
    save(chat("colour [red]", "sky?", "blue \x1b[31m"), default_dir())
    app = ImprovApp(model="mock/fixed:hello")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.open_screen("t")
        await pilot.pause()
        assert len(screen.entries) == 2
        screen.query_one("#search", Input).value = "banana"
        await pilot.pause()
        assert [e.transcript.title for e in screen.shown] == ["fruit"]
        screen.query_one("#search", Input).value = ""
        await pilot.pause()

        screen.action_replay()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        result = screen.last_result
        assert result.summary.overall.done == 2 and result.summary.overall.exact_match == 0.5
        assert "replay done" in text_of(screen, "#status")
        replays = [e for e in screen.entries if e.transcript.kind == "replay"]
        assert len(replays) == 2

        colour = next(e for e in replays if e.transcript.title == "colour [red]")
        screen.open(colour)
        await pilot.pause()
        left, right = text_of(screen, "#left"), text_of(screen, "#right")
        assert "sky?" in left and "blue" in left and "\x1b" not in left  # original, escaped
        assert "hello" in right and "mock/fixed:hello" in right
        assert "0/1 replies equal" in text_of(screen, "#status")

        original = next(e for e in screen.entries if e.transcript.kind != "replay" and e.transcript.title == "fruit")
        screen.open(original)
        await pilot.pause()
        assert "1 replay" in text_of(screen, "#status")


def test_a_huge_message_is_cut_for_the_screen_and_says_how_much_is_left_out():
    from improv.transcripts.display import SHOW_CHARS
    from improv.tui.screens.transcripts import render

    body = "a" * SHOW_CHARS + "\x1b[2J" + "b" * 41
    shown = render(chat("x" * 500, "q?", body)).plain
    assert "a" * 100 in shown and "b" not in shown and "\x1b" not in shown
    assert f"{len(body) - SHOW_CHARS:,} more characters of this message not shown" in shown
    assert "more characters)" in shown.splitlines()[0]  # the 500-character title is cut too
    small = render(chat("t", "q?", "all of it")).plain
    assert "all of it" in small and "not shown" not in small
