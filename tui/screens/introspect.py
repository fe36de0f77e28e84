"""The introspection screen: runs the hypothetical self-prediction quiz live.

Each (prompt, property) appears as it is scored: the object-level prompt, the model's answer and
its property value, the hypothetical question and the prediction, marked right or wrong. The
status line keeps the running self-accuracy against the running mode baseline; when the quiz
ends, a text reliability plot (from calibration samples, k > 0) closes the log.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from improv.agents.text import printable


def reliability_plot(bins, width: int = 30) -> str:
    """One row per bin of predicted probability: observed frequency as a bar, predicted as '|'."""
    if not bins:
        return "no calibration data (set k > 0)"
    lines = ["predicted   observed (bar) vs predicted (|)"]
    for b in bins:
        bar = ["█" if i < round(b.observed * width) else " " for i in range(width + 1)]
        bar[min(width, round(b.predicted * width))] = "|"
        lines.append(f"{b.low:.1f}-{b.high:.1f}  {''.join(bar)} obs {b.observed:.2f} pred {b.predicted:.2f} n={b.n}")
    return "\n".join(lines)


class IntrospectScreen(Screen):
    BINDINGS = [Binding("ctrl+s", "start", "Start quiz", priority=True)]
    DEFAULT_CSS = """
    IntrospectScreen #controls { height: auto; }
    IntrospectScreen #controls Input { width: 1fr; }
    IntrospectScreen #status { height: auto; padding: 0 1; }
    IntrospectScreen .item { padding: 0 1; margin-bottom: 1; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, **kwargs) -> None:
        super().__init__(**{k: v for k, v in kwargs.items() if k in ("name", "id", "classes")})
        self.model_string = model
        self.persona = persona
        self.results: list = []
        self.report = None
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="controls"):
            yield Input(value=self.model_string or "", placeholder="model (default: built-in)", id="model")
            yield Input(value="", placeholder="predictor for cross-prediction (optional)", id="predictor")
            yield Input(value="short_answers", placeholder="tasks (space-separated)", id="tasks")
            yield Input(value="5", placeholder="prompts per task", id="n")
            yield Input(value="0", placeholder="k calibration samples", id="k")
            yield Button("Start", id="start")
        yield Static("Press Start (ctrl+s) to run the quiz.", id="status")
        yield VerticalScroll(id="log")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def action_start(self) -> None:
        if self.running:
            return
        self.running = True
        self.results = []
        self.report = None
        self.query_one("#log", VerticalScroll).remove_children()
        self.run_worker(self._run(), exclusive=True, group="quiz")

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(printable(text))

    async def _run(self) -> None:
        import asyncio

        from improv.agents.registry import get_model
        from improv.evaluator.introspection import Quiz, QuizSettings, load_tasks, select

        try:
            n = int(self._value("n") or 5)
            k = int(self._value("k") or 0)
            tasks = load_tasks()
            items = select(tasks, self._value("tasks").split() or None, None, n or None)
            items = [i.model_copy(update={"properties": [p for p in i.properties if p != "sentiment"]}) for i in items]
            items = [i for i in items if i.properties]
            model_name, predictor_name = self._value("model") or None, self._value("predictor") or None
            model = await asyncio.to_thread(get_model, model_name)
            predictors = [await asyncio.to_thread(get_model, predictor_name)] if predictor_name else []
            self._status(f"running {len(items)} prompts on {model.name} ...")
            quiz = Quiz(model, predictors=predictors, settings=QuizSettings(k=k))
            self.report = await quiz.run(items, on_item=self._on_item)
            for m in [model, *predictors]:
                await m.aclose()
            self._finish()
        except Exception as err:  # noqa: BLE001 - shown to the user, the app keeps running
            self._status(f"error: {type(err).__name__}: {err}")
        finally:
            self.running = False

    def _on_item(self, r) -> None:
        self.results.append(r)
        pred = r.predictions.get(r.object_model)
        if not r.included:
            mark, style = "excluded (object answer not compliant)", "dim"
        elif r.correct():
            mark, style = "RIGHT", "green"
        else:
            mark, style = "WRONG", "red"
        lines = [
            f"[{r.task} #{r.item}] {r.property}: {mark}",
            f"prompt: {r.prompt}",
            f"answer: {r.object_answer!r} -> {r.property} = {r.object_value!r}",
            f"hypothetical: {pred.hypothetical if pred else ''}",
            f"prediction: {(pred.raw[0] if pred and pred.raw else '')!r} -> {pred.value if pred else None!r}",
        ]
        for name, p in r.predictions.items():
            if name != r.object_model:
                lines.append(f"cross ({name}): {p.value!r} {'right' if r.correct(name) else 'wrong'}")
        from rich.text import Text

        widget = Static(Text(printable("\n".join(lines)), style=style), classes="item")
        self.query_one("#log", VerticalScroll).mount(widget)
        widget.scroll_visible()
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
        from rich.text import Text

        report = self.report
        overall = report.overall[0]
        lines = [f"done: {self.running_summary()}"]
        for name, m in overall.cross.items():
            lines.append(f"cross-prediction by {name}: {m.value if m.value is None else f'{m.value:.0%}'} (n={m.n})")
        cal = overall.calibration
        if cal is not None:
            lines.append(f"calibration MAD {cal.mad:.1f} points over {cal.n_items} items")
        lines.append(reliability_plot(cal.bins if cal else []))
        self.query_one("#log", VerticalScroll).mount(Static(Text(printable("\n".join(lines))), classes="item", id="summary"))
        self._status(lines[0])
