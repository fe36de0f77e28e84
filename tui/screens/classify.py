"""Classify a reply: pick a model reply of a transcript, run the falsehood classifier on it, and
read the evidence side by side: the neutral (honest persona) samples next to the in-role
resamples, the shares with their Wilson intervals, the persona lines and the decision-table row
that fired.

The screen drives the library's `Classification` (the object `improv classify` drives too): it
lists the replies the object numbers (the persona's greeting is not one), builds the model from
the app's run spec, runs it and renders the `Verdict`. No classification logic lives here.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from improv.agents.text import first_line
from improv.tui.widgets.data import data, line
from improv.tui.widgets.field import Field


def _share(s) -> str:
    return f"{s.count}/{s.n} {s.share:.2f} [{s.low:.2f}-{s.high:.2f}]"


def verdict_text(v) -> Text:
    """The verdict, its rule and the persona reading, as literal text (claim, quotes and notes
    quote the model and the persona: data, never markup)."""
    out = Text()
    out.append(f"{v.verdict.replace('_', ' ').upper()}", style="bold")
    out.append(f" (confidence {v.confidence}) - rule '{v.rule}': ")
    out.append(data(v.condition))
    out.append("\n")
    out.append(line(f"model {v.model}, reply {v.turn_id}"))
    out.append("\n")
    p = v.proposition
    if p is not None:
        out.append("A (claim): ")
        out.append(line(p.a))
        out.append("   B: ")
        out.append(line(p.b or "(unknown)"))
        out.append(f"   falsity: {p.falsity} ({p.falsity_source})")
    else:
        out.append(data(v.no_claim.reason if v.no_claim else "no claim"))
    out.append(f"\npersona ({v.persona.method} reading): {v.persona.stance}")
    for q in v.persona.quotes[:3]:
        out.append("\n  > ")
        out.append(line(q))
    if v.probe:
        out.append(f"\ntruth probe: p(true)={v.probe.p_true:.2f} (layer {v.probe.layer}), held-out accuracy "
                   f"{v.probe.accuracy:.2f} on {v.probe.test_size}")
    for n in v.notes:
        out.append("\nnote: ")
        out.append(data(n))
    return out


class ClassifyScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "classify", "Classify", priority=True),
        Binding("ctrl+l", "load", "Load transcript", priority=True),
    ]
    # below 120 columns the neutral and in-role samples stack instead of standing side by side
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    DEFAULT_CSS = """
    ClassifyScreen #body { height: 1fr; }
    ClassifyScreen.-narrow #sides { layout: vertical; }
    ClassifyScreen #belief { height: auto; padding: 0 1; }
    ClassifyScreen #inputs { height: auto; }
    ClassifyScreen #inputs Field { width: 1fr; }
    ClassifyScreen #inputs Button { min-width: 12; }
    ClassifyScreen #replies { height: auto; max-height: 8; }
    ClassifyScreen #verdict { height: auto; padding: 0 1; }
    ClassifyScreen #shares { height: auto; }
    ClassifyScreen #sides { height: auto; }
    ClassifyScreen #sides Vertical { width: 1fr; height: auto; }
    ClassifyScreen #sides DataTable { height: auto; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, transcript: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.persona_name = persona
        self.transcript_ref = transcript
        self.transcript = None
        self.source = None  # the transcript's file
        self.turn_ids: list[str] = []
        self.job = None  # the Classification being run or shown
        self.verdict = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body", can_focus=False):  # its parts take focus (and scroll into view)
            with Horizontal(id="inputs"):
                yield Field(self.transcript_ref or "", placeholder="transcript file or id", label="transcript", id="path")
                yield Field(placeholder="claim (default: the whole reply)", id="claim")
                yield Field(placeholder="reference truth (optional)", id="truth")
                yield Button("Classify", id="run", variant="primary")
            yield OptionList(id="replies")
            yield Static(Text("Load a transcript (enter in its field, or ctrl+l), select a reply, press ctrl+r."), id="verdict")
            yield DataTable(id="shares")
            yield Static(Text(""), id="belief")
            with Horizontal(id="sides"):
                with Vertical():
                    yield Static(Text("neutral: honest persona, fresh contexts"))
                    yield DataTable(id="neutral")
                with Vertical():
                    yield Static(Text("in role: the turn resampled in its context"))
                    yield DataTable(id="inrole")
        yield Footer()

    def on_mount(self) -> None:
        for table_id in ("neutral", "inrole"):
            t = self.query_one(f"#{table_id}", DataTable)
            t.add_columns("question", "answer", "label")
        self.query_one("#shares", DataTable).add_columns("", "neutral", "in role")
        self.query_one("#path", Field).focus()
        if self.transcript_ref:
            self.action_load()

    def set_status(self, text: str | Text) -> None:
        self.query_one("#verdict", Static).update(text if isinstance(text, Text) else data(text))

    @on(Field.Submitted, "#path")
    def action_load(self) -> None:
        from improv.evaluator.falsehood.classification import agent_replies
        from improv.transcripts.store import load, resolve

        ref = self.query_one("#path", Field).value.strip()
        if not ref:
            self.set_status("Type a transcript file or id first.")
            return
        try:
            self.source = resolve(ref)
            self.transcript = load(self.source)
        except Exception as err:  # a bad file: one line, no crash
            self.set_status(f"cannot load {ref}: {first_line(err)}")
            return
        replies = agent_replies(self.transcript)
        self.turn_ids = [t.id for t in replies]
        options = self.query_one("#replies", OptionList)
        options.clear_options()
        options.add_options([Option(line(f"{i}. {t.content[:120]}"), id=t.id) for i, t in enumerate(replies, 1)])
        if replies:
            options.highlighted = len(replies) - 1
            options.focus()
        noun = "model reply" if len(replies) == 1 else "model replies"
        self.set_status(f"{len(replies)} {noun}; select one and press ctrl+r to classify.")

    @on(Button.Pressed, "#run")
    def action_classify(self) -> None:
        from improv.evaluator.falsehood.classification import Classification

        options = self.query_one("#replies", OptionList)
        if self.transcript is None or options.highlighted is None:
            self.set_status("Load a transcript and select a reply first.")
            return
        try:
            self.job = Classification(self.transcript, self.turn_ids[options.highlighted],
                                      claim=self.query_one("#claim", Field).value,
                                      truth=self.query_one("#truth", Field).value, source=self.source)
        except Exception as err:
            self.set_status(f"error: {first_line(err)}")
            return
        self.set_status(f"classifying reply {self.job.number}: sampling the neutral and in-role contexts...")
        self.run_worker(self._classify(self.job), exclusive=True, group="classify")

    async def _classify(self, job) -> None:
        import asyncio

        from improv.agents.spec import build_model
        from improv.tui.app import run_spec

        try:
            model = await asyncio.to_thread(build_model, run_spec(self, self.model_name))
            try:
                self.verdict = await job.run(model)
            finally:
                await model.aclose()
        except Exception as err:
            self.set_status(f"error: {first_line(err)}")
            return
        self.show(self.verdict)

    def show(self, v) -> None:
        self.set_status(verdict_text(v))
        shares = self.query_one("#shares", DataTable)
        shares.clear()
        belief = self.query_one("#belief", Static)
        belief.update(Text(""))
        n, c = v.neutral, v.in_context
        if n is None or c is None:  # no claim: nothing was sampled
            for table_id in ("neutral", "inrole"):
                self.query_one(f"#{table_id}", DataTable).clear()
            return
        shares.add_row("says A (claim)", _share(n.share_a), _share(c.repeat))
        shares.add_row("says B / denies A", _share(n.share_b), _share(c.share_b))
        shares.add_row("entropy (bits)", f"{n.entropy_bits:.2f}", f"{c.entropy_bits:.2f}")
        if c.false_share is not None:
            shares.add_row("states a false value", "", _share(c.false_share))
        # the beliefs are sentences: below the table, where they wrap, not in a column they would widen
        text = Text("neutral belief: ", style="bold")
        text.append(data(f"{n.belief}: {n.reason} (sampled at T={n.temperature:g})"))
        if n.exact is not None:
            text.append("\nbelief by likelihood: ", style="bold")
            text.append(data(f"{n.exact.belief}: {n.exact.reason}"))
        belief.update(text)
        for table_id, samples in (("neutral", n.samples), ("inrole", c.samples)):
            t = self.query_one(f"#{table_id}", DataTable)
            t.clear()
            for s in samples:
                t.add_row(line(s.question), line(s.text), line(s.label))
