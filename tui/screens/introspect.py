"""The introspection screen: the hypothetical self-prediction quiz live, and a finished training
experiment's tables.

- Quiz (ctrl+s): each (prompt, property) appears as it is scored (the object-level prompt, the
  answer and its property value, the prediction, right or wrong); the status line keeps the
  running self-accuracy against the running mode baseline. Closed-space predictions are read
  from the model's distribution where the backend gives one (free-text compliance shown beside).
  When the quiz ends, its transcripts are saved (one per task, in the app's transcript folder;
  the path is shown) and the reliability diagram is drawn.
- Experiment run (ctrl+r): the folder `improv introspect experiment --out RUN` wrote; its tables
  (self vs cross vs baseline, before/after, calibration, behaviour change) and reliability
  diagrams (untrained, self-trained, cross-trained).

The way home is the app's (ctrl+o, `tui.app`).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Static
from textual_plotext import PlotextPlot

from improv.agents.text import plural
from improv.tui.widgets.data import data, line
from improv.tui.widgets.field import Field


def reliability_series(bins) -> tuple[list[float], list[float]]:
    """(mean predicted, mean observed) per non-empty bin, for the reliability diagram."""
    return [b.predicted for b in bins], [b.observed for b in bins]


def draw_reliability(plt, curves: list[tuple[str, list]], title: str) -> None:
    """Observed object-level frequency against the predicted (hypothetical) probability, one
    line per condition, with the diagonal of perfect calibration."""
    plt.clear_figure()
    plt.title(title)
    plt.plot([0, 1], [0, 1], label="perfect", color="gray")
    for label, bins in curves:
        if bins:
            xs, ys = reliability_series(bins)
            plt.plot(xs, ys, label=label, marker="dot")
    plt.xlim(0, 1)
    plt.ylim(0, 1)
    plt.xlabel("predicted probability (hypothetical)")
    plt.ylabel("observed (object)")


class IntrospectScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "start", "Start quiz", priority=True),
        Binding("ctrl+r", "load_run", "Load run", priority=True),
    ]
    DEFAULT_CSS = """
    IntrospectScreen #body { height: 1fr; }
    IntrospectScreen .row { height: auto; }
    IntrospectScreen .row Field { width: 1fr; }
    IntrospectScreen .row Button { width: auto; min-width: 10; }
    IntrospectScreen #status, IntrospectScreen #saved { height: auto; padding: 0 1; }
    IntrospectScreen #log { height: auto; }
    IntrospectScreen .item { padding: 0 1; margin-bottom: 1; }
    IntrospectScreen #reliability { height: 16; min-height: 12; }
    IntrospectScreen #tables { height: auto; }
    IntrospectScreen #tables DataTable { height: auto; max-height: 24; }
    IntrospectScreen .table-title { padding: 1 1 0 1; text-style: bold; }
    IntrospectScreen .table-note { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, **kwargs) -> None:
        super().__init__(**{k: v for k, v in kwargs.items() if k in ("name", "id", "classes")})
        self.model_string = model
        self.persona = persona
        self.results: list = []
        self.report = None
        self.experiment = None
        self.saved: list[str] = []
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            with Horizontal(classes="row"):
                yield Field(self.model_string or "", placeholder="model (default: built-in)", label="model", id="model")
                yield Field("", placeholder="cross-predictor (optional)", id="predictor")
            with Horizontal(classes="row"):
                yield Field("", placeholder="tasks (default: what the model can answer)", id="tasks")
                yield Field("5", placeholder="prompts per task", label="prompts per task", id="n")
                yield Button("Start", id="start")
            with Horizontal(classes="row"):
                yield Field("", placeholder="experiment run folder (improv introspect experiment --out RUN)", id="run")
                yield Button("Load run", id="load")
            yield Static("Start a quiz (ctrl+s), or load a finished experiment run (ctrl+r).", id="status")
            yield Static("", id="saved")
            yield Vertical(id="log")
            yield PlotextPlot(id="reliability")
            yield Vertical(id="tables")
        yield Footer()

    def on_mount(self) -> None:
        draw_reliability(self.query_one("#reliability", PlotextPlot).plt, [], "reliability diagram (no data yet)")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "load":
            self.action_load_run()

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Field).value.strip()

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(line(text))

    # -- the live quiz ----------------------------------------------------------------------------
    def action_start(self) -> None:
        if self.running:
            return
        self.running = True
        self.results = []
        self.report = None
        self.query_one("#log", Vertical).remove_children()
        self.run_worker(self._run(), exclusive=True, group="quiz")

    async def _run(self) -> None:
        import asyncio

        from improv.agents.spec import build_model
        from improv.tui.app import run_spec
        from improv.agents.text import first_line
        from improv.evaluator.introspection import Quiz, QuizSettings, load_properties, load_tasks, select
        from improv.evaluator.introspection.quiz import default_tasks

        models = []
        try:
            n = int(self._value("n") or 5)
            props = load_properties()
            wanted = [p for p in props if not props[p].judged]
            model = await asyncio.to_thread(build_model, run_spec(self, self._value("model") or None))
            models.append(model)
            predictor_name = self._value("predictor")
            if predictor_name:
                models.append(await asyncio.to_thread(build_model, run_spec(self, predictor_name)))
            names = self._value("tasks").split() or default_tasks(model)
            items = select(load_tasks(), names, wanted, n or None)
            self._status(f"running {len(items)} prompts on {model.name} ...")
            quiz = Quiz(model, predictors=models[1:], settings=QuizSettings())
            self.report = await quiz.run(items, on_item=self._on_item)
            self.report.excluded_properties = {p: "judge-scored; the quiz screen runs without a judge"
                                               for p in props if p not in wanted}
            self.saved = await asyncio.to_thread(self._save, self.report)
            self._finish()
        except Exception as err:  # noqa: BLE001 - shown to the user, the app keeps running
            self._status(f"error: {first_line(err)}")
        finally:
            for m in models:
                await m.aclose()
            self.running = False

    def _save(self, report) -> list[str]:
        """One transcript per task in the app's transcript folder (the CLI's layout)."""
        from improv.evaluator.introspection.transcripts import report_transcripts
        from improv.transcripts.store import save

        options = getattr(self.app, "options", None)
        directory = getattr(options, "out", None)
        paths = [str(save(t, directory)) for t in report_transcripts(report)]
        report.transcripts = paths
        return paths

    def _on_item(self, r) -> None:
        self.results.append(r)
        pred = r.predictions.get(r.object_model)
        if not r.included:
            mark, style = "excluded (object answer not compliant)", "dim"
        elif r.correct():
            mark, style = "RIGHT", "green"
        else:
            mark, style = "WRONG", "red"
        free = "" if pred is None else f" (free text {pred.raw[0] if pred.raw else ''!r}: " + (
            "compliant)" if pred.compliant else "not in the format)")
        lines = [
            f"[{r.task} #{r.item}] {r.property}: {mark}",
            f"prompt: {r.prompt}",
            f"answer: {r.object_answer!r} -> {r.property} = {r.object_value!r}",
            f"prediction: {pred.value if pred else None!r} from {(pred.distribution_source or 'text') if pred else '-'}{free}",
        ]
        for name, p in r.predictions.items():
            if name != r.object_model:
                lines.append(f"cross ({name}): {p.value!r} {'right' if r.correct(name) else 'wrong'}")
        widget = Static(data("\n".join(lines), style=style), classes="item")
        self.query_one("#log", Vertical).mount(widget)
        self._status(self.running_summary())

    def running_summary(self) -> str:
        """Running self-accuracy vs the running per-(task, property) mode baseline."""
        included = [r for r in self.results if r.included]
        if not included:
            return f"{len(self.results)} scored, none included yet"
        right = sum(bool(r.correct()) for r in included)
        groups: dict = defaultdict(list)
        for r in included:
            groups[(r.task, r.property)].append(r.object_value)
        base = sum(Counter(v).most_common(1)[0][1] for v in groups.values())
        return (f"self-prediction {right}/{len(included)} = {right / len(included):.0%}   "
                f"mode baseline {base}/{len(included)} = {base / len(included):.0%}   "
                f"excluded {len(self.results) - len(included)}")

    def _finish(self) -> None:
        report = self.report
        overall = report.overall[0]
        lines = [f"done: {self.running_summary()}",
                 f"free-text compliance {overall.compliance.successes}/{overall.compliance.n}"]
        for name, m in overall.cross.items():
            lines.append(f"cross-prediction by {name}: {'n/a' if m.value is None else f'{m.value:.0%}'} (n={m.n})")
        cal = overall.calibration
        if cal is not None and cal.mad is not None:
            lines.append(f"calibration: MAD {cal.mad:.1f} points, total variation {cal.tv:.2f}, over {cal.n_items} items")
        lines.extend(report.notes())
        self.query_one("#log", Vertical).mount(Static(data("\n".join(lines)), classes="item", id="summary"))
        self._status(lines[0])
        if self.saved:
            folder = self.saved[0].rsplit("/", 1)[0]
            self.query_one("#saved", Static).update(
                line(f"saved {plural(len(self.saved), 'transcript')} in {folder}: {', '.join(p.rsplit('/', 1)[-1] for p in self.saved)}"))
        plot = self.query_one("#reliability", PlotextPlot)
        draw_reliability(plot.plt, [(report.model, cal.bins if cal else [])],
                         f"reliability: {report.model}, {len(report.results)} (prompt, property)")
        plot.refresh()

    # -- a finished experiment run -----------------------------------------------------------------
    def action_load_run(self) -> None:
        self.run_worker(self._load_run(), exclusive=True, group="run")

    async def _load_run(self) -> None:
        import asyncio

        from improv.agents.text import first_line
        from improv.evaluator.introspection.experiment import analyse
        from improv.evaluator.introspection.tables import experiment_tables

        folder = self._value("run")
        if not folder:
            self._status("type the run folder first (improv introspect experiment --out RUN)")
            return
        try:
            result = await asyncio.to_thread(analyse, folder)
        except Exception as err:  # noqa: BLE001 - a partial or wrong folder is shown, not raised
            self._status(f"error: {first_line(err)}")
            return
        self.experiment = result
        box = self.query_one("#tables", Vertical)
        await box.remove_children()
        widgets = []
        for t in experiment_tables(result):
            table = DataTable(zebra_stripes=True, cursor_type="row")
            table.add_columns(*[line(h) for h in t.header])
            for row in t.rows:
                table.add_row(*[line(c) for c in row])
            widgets.append(Static(line(t.title), classes="table-title"))
            widgets.append(table)
            if t.note:
                widgets.append(Static(data(t.note), classes="table-note"))
        await box.mount_all(widgets)
        first = result.pairs[0] if result.pairs else None
        plot = self.query_one("#reliability", PlotextPlot)
        if first is not None:
            draw_reliability(plot.plt, [(c.label, c.calibration.bins if c.calibration else []) for c in first.calibration],
                             f"reliability, M1 = {first.m1} (held-out tasks)")
            plot.refresh()
        self._status(f"run {folder}: {', '.join(f'{k}={v}' for k, v in result.models.items())}")
