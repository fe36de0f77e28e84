"""Pilot tests of the introspection screen on a minimal App (mock model, no network): the live
quiz saves its transcripts and says where, the reliability diagram is drawn, and a finished
experiment run's tables load."""

from __future__ import annotations

import json

from textual.app import App
from textual.widgets import DataTable, Static

from improv.evaluator.introspection.metrics import CalibrationBin, Prediction, PropertyResult, QuizReport, score
from improv.tui.screens.introspect import IntrospectScreen, draw_reliability


class _App(App):
    def on_mount(self) -> None:
        self.push_screen(IntrospectScreen(model="mock/fixed:o"))


async def _wait(pilot, done) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        if done():
            return


async def test_screen_runs_quiz_live_and_saves_transcripts(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    app = _App()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        screen.query_one("#tasks").value = "animals"
        screen.query_one("#n").value = "2"
        await pilot.press("ctrl+s")
        await _wait(pilot, lambda: screen.report is not None and screen.saved)
        assert screen.report is not None
        assert len(screen.results) == 2 * 5  # two prompts x five properties
        summary = str(screen.query_one("#summary", Static).render())
        assert summary.startswith("done: self-prediction") and "mode baseline" in summary
        assert "sentiment excluded" in summary or "compliance" in summary
        # saved as transcripts, and the screen says where
        assert screen.saved and all(p.startswith(str(tmp_path)) for p in screen.saved)
        saved = str(screen.query_one("#saved", Static).render())
        assert "saved 1 transcript in" in saved and screen.saved[0].rsplit("/", 1)[-1] in saved
        assert json.loads(open(screen.saved[0]).read())["kind"] == "introspection"


class _Recorder:
    """A stand-in for plotext's API that records what was drawn."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.append((name, a, k))


def test_reliability_diagram_draws_each_condition_and_the_diagonal():
    plt = _Recorder()
    bins = [CalibrationBin(low=0.0, high=0.1, predicted=0.05, observed=0.2, n=3),
            CalibrationBin(low=0.9, high=1.0, predicted=0.95, observed=0.5, n=3)]
    draw_reliability(plt, [("self-trained", bins), ("untrained", [])], "title")
    plots = [c for c in plt.calls if c[0] == "plot"]
    assert plots[0][1] == ([0, 1], [0, 1])  # the diagonal
    assert plots[1][1] == ([0.05, 0.95], [0.2, 0.5]) and plots[1][2]["label"] == "self-trained"
    assert len(plots) == 2  # an empty condition draws nothing


def _report(model: str, values: list[str], preds: dict[str, list[str]]) -> dict:
    results = [PropertyResult(task="animals", item=i, prompt=f"p{i}", property="first_character", object_model=model,
                              object_answer=v, object_value=v,
                              predictions={k: Prediction(predictor=k, hypothetical="h", value=p[i]) for k, p in preds.items()})
               for i, v in enumerate(values)]
    return json.loads(score(QuizReport(model=model, predictors=list(preds), results=results)).model_dump_json())


async def test_screen_loads_a_finished_run(tmp_path):
    run = tmp_path / "run"
    (run / "quizzes").mkdir(parents=True)
    (run / "experiment.json").write_text(json.dumps({"models": {"a": "organism", "b": "hf/x"}}))
    for m1, m2 in (("a", "b"), ("b", "a")):
        vals = ["c", "c", "d", "e"]
        files = {
            f"{m1}-untrained": _report(m1, vals, {m1: ["c", "x", "x", "x"]}),
            f"{m1}-self": _report(f"{m1}-self", vals, {f"{m1}-self": ["c", "c", "d", "x"],
                                                      f"{m2}-predicts-{m1}": ["c", "x", "x", "x"]}),
            f"{m1}-changed": _report(f"{m1}-changed", ["d", "c", "c", "e"], {f"{m1}-changed": ["d", "c", "d", "e"]}),
        }
        for name, rep in files.items():
            (run / "quizzes" / f"{name}.json").write_text(json.dumps(rep))
    app = _App()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        screen.query_one("#run").value = str(run)
        await pilot.press("ctrl+r")
        await _wait(pilot, lambda: screen.experiment is not None and len(screen.query(DataTable)) == 8)
        tables = list(screen.query(DataTable))
        assert len(tables) == 8  # four per M1
        titles = [str(s.render()) for s in screen.query(".table-title")]
        assert titles[0].startswith("M1 = a: self (a-self) vs cross (b-predicts-a)")
        pooled = tables[0].get_row_at(tables[0].row_count - 1)
        assert [str(c) for c in pooled[:3]] == ["*", "*", "4"] and str(pooled[3]).startswith("75.0%")
        assert "b: organism" not in str(screen.query_one("#status").render())
        assert "a=organism" in str(screen.query_one("#status").render())


async def test_screen_load_run_errors_in_one_line(tmp_path):
    app = _App()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.query_one("#run").value = str(tmp_path / "nothing")
        await pilot.press("ctrl+r")
        await _wait(pilot, lambda: "error" in str(screen.query_one("#status").render()))
        assert "not an introspection experiment run" in str(screen.query_one("#status").render())


async def test_filled_fields_keep_their_name_at_80_columns(tmp_path, monkeypatch):
    """A default value hides a placeholder: "5" alone says nothing, so the field's name stays on
    its border."""
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    app = _App()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        drawn = "\n".join("".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips())
        assert "prompts per task" in drawn and "mock/fixed:o" in drawn
        assert "▔ model ▔" in drawn
