"""Outside text on every screen of mine is shown as data (issue 21): model replies, persona and
card fields, transcript titles and file names reach the terminal literally, with Rich markup
unread and control sequences escaped. Each test reads what the screen actually draws (the
compositor's strips), not what a widget was given."""

from __future__ import annotations

import json

import pytest
import yaml

from improv.transcripts import Transcript, Turn, save
from improv.transcripts.store import default_dir
from improv.tui.app import ImprovApp

SIZE = (200, 60)
MARKUP = "[bold red]x[/] [link=http://e.vil]y[/link]"
CONTROLS = "a\x1b[2Jb\x1b]0;title\x07c\x08d\re"
#: how the sanitiser shows CONTROLS
SHOWN = "a\\x1b[2Jb\\x1b]0;title\\x07c\\x08d\\x0de"
#: how a text field draws CONTROLS: one visible stand-in per character (the cursor stays put)
IN_FIELD = "a\u241b[2Jb\u241b]0;title\u2407c\u2408d\u240de"
RAW = ("\x1b", "\x07", "\x08", "\r", "\x9b")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    return tmp_path


def drawn(app) -> tuple[str, list]:
    """The screen as drawn: its text, and every segment's style."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(s.text for s in strips), [seg.style for s in strips for seg in s if seg.style]


def assert_literal(app, *expected: str) -> None:
    text, styles = drawn(app)
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} reached the screen"
    for e in expected:
        assert e in text, f"{e!r} not drawn literally:\n{text}"
    assert not any(style.link for style in styles), "markup in the text made a link"


async def test_chat_screen(tmp_path):
    persona = tmp_path / "hostile.yaml"
    persona.write_text(yaml.safe_dump({
        "name": "evil[b]",
        "description": "d",
        "system_prompt": "You are {who}.",
        "variables": {"who": "someone"},
        "greeting": f"hi {MARKUP} {CONTROLS}",
    }))
    app = ImprovApp(f"mock/fixed:{MARKUP} {CONTROLS}", str(persona), variables={"who": f"[i]{CONTROLS}"}, start="c")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        greeting = f"hi {MARKUP} {SHOWN}"
        assert_literal(app, greeting, "evil[b] · greeting")
        await pilot.press(*"me [u]too[/u]", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert_literal(app, f"{MARKUP} {SHOWN}", "me [u]too[/u]", "evil[b] · mock/fixed:[bold red]x[/]")
        # the template variable in its field, and the model string in its own
        assert_literal(app, f"who=[i]{IN_FIELD}", f"mock/fixed:{MARKUP} {IN_FIELD}")


async def test_classify_screen(tmp_path):
    t = Transcript(title="t")
    greeting = t.add(Turn(role="assistant", content=f"greet {CONTROLS}", meta={"greeting": True}))
    user = t.add(Turn(parent=greeting.id, role="user", content=f"What is the capital of Peru? {MARKUP}"))
    t.add(Turn(parent=user.id, role="assistant", content=f"Quito. {MARKUP} {CONTROLS}", model="mock/x"))
    path = save(t, tmp_path)
    app = ImprovApp(f"mock/cycle:Lima {MARKUP} {CONTROLS}|Quito", start="f")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.query_one("#path").value = str(path)
        screen.action_load()
        await pilot.pause()
        assert_literal(app, f"1. Quito. {MARKUP} {SHOWN}")
        assert f"greet" not in drawn(app)[0]  # the greeting is not a reply to classify
        screen.query_one("#truth").value = "Lima"
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.verdict is not None
        # the in-role and neutral samples quote the model: drawn literally in the tables
        assert_literal(app, f"Lima {MARKUP[:9]}", "\\x1b[2J")
        # a bad path is named literally in the status line
        screen.query_one("#path").value = f"{tmp_path}/no{CONTROLS}[b].json"
        screen.action_load()
        await pilot.pause()
        assert_literal(app, f"no{SHOWN}[b].json")


async def test_transcripts_screen(tmp_path):
    t = Transcript(title=f"title {MARKUP} {CONTROLS}", kind=f"k[b]{CONTROLS[:5]}")
    u = t.add(Turn(role="user", content=f"question {MARKUP}"))
    t.add(Turn(parent=u.id, role="assistant", content=f"answer {MARKUP} {CONTROLS}", model=f"mock/[red]m{CONTROLS[:5]}"))
    path = save(t, default_dir())
    app = ImprovApp("mock/echo", start="t")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert_literal(app, f"title {MARKUP[:20]}", "k[b]a\\x1b[2J")
        screen.open(screen.shown[0])
        await pilot.pause()
        assert_literal(app, f"title {MARKUP} {SHOWN}", f"question {MARKUP}", f"answer {MARKUP} {SHOWN}",
                       "assistant [mock/[red]ma\\x1b[2J]")
        # an unreadable file's error, and a folder name, are data too
        screen.query_one("#folder").value = f"{tmp_path}/none{CONTROLS}[b]"
        screen.action_reload()
        await pilot.pause()
        assert_literal(app, f"none{SHOWN}[b]")
    json.loads(path.read_text())  # the file itself keeps the raw text (escaped as JSON)


async def test_home_screen(tmp_path):
    app = ImprovApp(f"mock/echo", f"{tmp_path}/p{CONTROLS}[b].yaml", variables={"v": MARKUP})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert_literal(app, f"p{SHOWN}[b].yaml", f"v={MARKUP}")
