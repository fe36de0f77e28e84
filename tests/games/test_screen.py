"""The 20 Questions screen, pushed onto a minimal App and driven with Pilot."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, OptionList, Static

from improv.tui.screens.twentyq import TwentyQScreen, bars, sparkline

SIZE = (140, 48)


class Host(App):
    def __init__(self, screen):
        super().__init__()
        self._screen = screen

    def on_mount(self) -> None:
        self.push_screen(self._screen)


def text_of(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


async def wait_idle(pilot, screen):
    for _ in range(200):
        await pilot.pause(0.02)
        if not screen.busy:
            await pilot.pause()
            return
    raise AssertionError("screen stayed busy")


async def test_ask_resample_and_curve_side_by_side():
    screen = TwentyQScreen(model="mock/cycle:Yes.|It was a cat.|It was a [bold]rose[/bold].", k=4, secret="cat")
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "secret: cat" in text_of(screen, "#title-committed")
        screen.query_one("#question", Input).value = "Is it [red]alive[/red]?"
        await pilot.press("enter")
        await wait_idle(pilot, screen)
        for cond in ("uncommitted", "committed"):
            ol = screen.query_one(f"#turns-{cond}", OptionList)
            assert ol.option_count == 2
            # typed and model text is shown literally, never as markup
            assert "Is it [red]alive[/red]?" in str(ol.get_option_at_index(1).prompt)
        assert screen.at == 1
        await pilot.press("ctrl+r")
        await wait_idle(pilot, screen)
        for cond in ("uncommitted", "committed"):
            dist = text_of(screen, f"#dist-{cond}")
            assert "reveals at turn 1 (K=4)" in dist and "█" in dist
            node = screen.nodes[cond]
            assert node.sample.k == 4
        # select the start and resample there: the commitment curve gets two points
        ol = screen.query_one("#turns-uncommitted", OptionList)
        ol.focus()
        ol.highlighted = 0
        await pilot.pause()
        assert screen.at == 0
        await pilot.press("ctrl+r")
        await wait_idle(pilot, screen)
        assert set(screen.entropy["uncommitted"]) == {0, 1}
        assert "commitment curve:" in text_of(screen, "#curve-committed")
        await pilot.press("ctrl+l")
        await wait_idle(pilot, screen)
        assert set(screen.entropy["committed"]) == {0, 1}
        # exact posterior is refused by the mock model: a status line, not a crash
        await pilot.press("ctrl+e")
        await wait_idle(pilot, screen)
        assert "error" in text_of(screen, "#status") and "score" in text_of(screen, "#status")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.query_one("#turns-committed", OptionList).option_count == 1
        assert screen.entropy == {"uncommitted": {}, "committed": {}}


def test_bars_and_sparkline_helpers():
    t = bars({"cat": 3, "dog": 1}, 4, width=8)
    lines = str(t).splitlines()
    assert lines[0].startswith("cat") and lines[0].count("█") == 6 and lines[0].endswith("3/4")
    assert lines[1].count("█") == 2
    assert sparkline([0.0, 1.0, None, 2.0], 2.0) == "▁▅ █"
    assert str(bars({}, 0)) == ""
