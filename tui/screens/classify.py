"""Classify a reply: pick an agent reply of a transcript, run the falsehood classifier, and read
the evidence side by side: the neutral (honest persona) samples next to the in-role resamples,
the shares with their Wilson intervals, the persona lines and the decision-table row that fired.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option
from rich.text import Text

from improv.agents.text import printable


def _share(s) -> str:
    return f"{s.count}/{s.n} {s.share:.2f} [{s.low:.2f}-{s.high:.2f}]"


class ClassifyScreen(Screen):
    BINDINGS = [Binding("ctrl+o", "home", "Home", priority=True), Binding("ctrl+l", "load", "Load transcript")]
    DEFAULT_CSS = """
    ClassifyScreen #inputs Input { width: 1fr; }
    ClassifyScreen #replies { height: 8; }
    ClassifyScreen #sides { height: 1fr; }
    ClassifyScreen #sides Vertical { width: 1fr; }
    ClassifyScreen #shares { height: auto; max-height: 10; }
    ClassifyScreen #verdict { height: auto; padding: 0 1; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, transcript: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.persona_name = persona
        self.transcript_ref = transcript
        self.transcript = None
        self.turn_ids: list[str] = []
        self.verdict = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="inputs"):
            yield Input(self.transcript_ref or "", placeholder="transcript file or id", id="path")
            yield Input(placeholder="claim (default: the whole reply)", id="claim")
            yield Input(placeholder="reference truth (optional)", id="truth")
            yield Button("Classify", id="run", variant="primary")
        yield OptionList(id="replies")
        yield Static(Text("Load a transcript, select a reply, press Classify."), id="verdict")
        yield DataTable(id="shares")
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
        if self.transcript_ref:
            self.action_load()

    def set_status(self, text: str) -> None:
        self.query_one("#verdict", Static).update(Text(text))

    @on(Input.Submitted, "#path")
    def action_load(self) -> None:
        from improv.transcripts.store import load, resolve

        ref = self.query_one("#path", Input).value.strip()
        if not ref:
            return
        try:
            self.transcript = load(resolve(ref))
        except Exception as err:  # a bad file: one line, no crash
            self.set_status(f"cannot load {ref}: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
            return
        replies = [t for t in self.transcript.path() if t.role == "assistant"]
        self.turn_ids = [t.id for t in replies]
        options = self.query_one("#replies", OptionList)
        options.clear_options()
        options.add_options([Option(Text(f"{i}. {printable(t.content)[:120]}"), id=t.id) for i, t in enumerate(replies, 1)])
        if replies:
            options.highlighted = len(replies) - 1
        self.set_status(f"{len(replies)} replies; select one and press Classify.")

    @on(Button.Pressed, "#run")
    def classify_selected(self) -> None:
        options = self.query_one("#replies", OptionList)
        if self.transcript is None or options.highlighted is None:
            self.set_status("Load a transcript and select a reply first.")
            return
        turn_id = self.turn_ids[options.highlighted]
        claim = self.query_one("#claim", Input).value.strip() or None
        truth = self.query_one("#truth", Input).value.strip() or None
        self.set_status("classifying: sampling the neutral and in-role contexts...")
        self.run_worker(self._classify(turn_id, claim, truth), exclusive=True, group="classify")

    async def _classify(self, turn_id: str, claim: str | None, truth: str | None) -> None:
        import asyncio

        from improv.agents.registry import get_model
        from improv.evaluator.falsehood.classify import aclassify

        try:
            model = await asyncio.to_thread(get_model, self.model_name)
            self.verdict = await aclassify(self.transcript, turn_id, claim, truth, model)
        except Exception as err:
            self.set_status(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
            return
        self.show(self.verdict)

    def show(self, v) -> None:
        p = v.proposition
        claim = (f"A (claim): {p.a}   B: {p.b or '(unknown)'}   falsity: {p.falsity} ({p.falsity_source})" if p is not None
                 else (v.no_claim.reason if v.no_claim else "no claim"))
        head = (f"{v.verdict.replace('_', ' ').upper()} (confidence {v.confidence}) - rule '{v.rule}': {v.condition}\n"
                f"{claim}\n"
                f"persona ({v.persona.method} reading): {v.persona.stance}"
                + "".join(f"\n  > {q}" for q in v.persona.quotes[:3])
                + (f"\ntruth probe: p(true)={v.probe.p_true:.2f} (layer {v.probe.layer}), held-out accuracy "
                   f"{v.probe.accuracy:.2f} on {v.probe.test_size}" if v.probe else "")
                + "".join(f"\nnote: {n}" for n in v.notes))
        self.set_status(printable(head))
        shares = self.query_one("#shares", DataTable)
        shares.clear()
        n, c = v.neutral, v.in_context
        if n is None or c is None:  # no claim: nothing was sampled
            for table_id in ("neutral", "inrole"):
                self.query_one(f"#{table_id}", DataTable).clear()
            return
        shares.add_row("says A (claim)", _share(n.share_a), _share(c.repeat))
        shares.add_row("says B / denies A", _share(n.share_b), _share(c.share_b))
        shares.add_row("entropy (bits)", f"{n.entropy_bits:.2f}", f"{c.entropy_bits:.2f}")
        shares.add_row("belief", Text(printable(f"{n.belief}: {n.reason} (T={n.temperature:g})")), "")
        if c.false_share is not None:
            shares.add_row("states a false value", "", _share(c.false_share))
        if n.exact is not None:
            shares.add_row("belief by likelihood", Text(printable(f"{n.exact.belief}: {n.exact.reason}")), "")
        for table_id, samples in (("neutral", n.samples), ("inrole", c.samples)):
            t = self.query_one(f"#{table_id}", DataTable)
            t.clear()
            for s in samples:
                t.add_row(Text(printable(s.question)), Text(printable(s.text)), s.label)

    def action_home(self) -> None:
        self.app.pop_screen()
