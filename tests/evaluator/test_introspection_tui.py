"""Pilot test of the introspection screen on a minimal App (mock model, no network)."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from improv.tui.screens.introspect import IntrospectScreen, reliability_plot
from improv.evaluator.introspection.metrics import CalibrationBin


class _App(App):
    def on_mount(self) -> None:
        self.push_screen(IntrospectScreen(model="mock/fixed:o"))


async def test_screen_runs_quiz_live():
    app = _App()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        screen.query_one("#tasks").value = "animals"
        screen.query_one("#n").value = "2"
        screen.query_one("#k").value = "2"
        await pilot.press("ctrl+s")
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.report is not None:
                break
        assert screen.report is not None
        assert len(screen.results) == 2 * 5  # two prompts x five properties
        assert "self-prediction" in str(screen.query_one("#status").render())
        # the closing summary was mounted and says what the quiz found (query_one raises if it is
        # missing; "is not None" on its result could never fail)
        summary = str(screen.query_one("#summary", Static).render())
        assert summary.startswith("done: self-prediction") and "mode baseline" in summary


def test_reliability_plot_text():
    text = reliability_plot([CalibrationBin(low=0.9, high=1.0, predicted=0.95, observed=0.5, n=3)], width=10)
    assert "0.9-1.0" in text and "obs 0.50" in text and "|" in text
    assert "no calibration" in reliability_plot([])
