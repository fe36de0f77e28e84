"""20 Questions screen: the same questions put to an uncommitted and a committed answerer,
side by side; resample the reveal at the selected turn and watch the distribution and the
commitment curve.

- Type a yes/no question and press enter: both games get it (same question, same turn).
- Up/down in either list selects a turn (``start`` = before the first question).
- ``ctrl+r`` resamples the reveal K times at the selected turn in both games (one n=K call
  each) and draws the reveal distribution as bars, with each object's fit to the answers.
- ``ctrl+l`` resamples at every turn: the commitment curve (reveal entropy by turn).
- ``ctrl+e`` adds the exact posterior at the selected turn (backends that can score).
- ``ctrl+n`` new games (a new random secret); ``ctrl+o`` home.

All model text is shown as plain text (never markup).
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from improv.agents.text import printable

SPARK = "▁▂▃▄▅▆▇█"
CONDITIONS = ("uncommitted", "committed")


def bars(counts: dict[str, int], k: int, fits: dict | None = None, width: int = 20, limit: int = 10) -> Text:
    """A text bar chart of a reveal distribution (model text stays plain)."""
    out = Text()
    if not k:
        return out
    name_w = min(18, max((len(printable(o)) for o in counts), default=4))
    for i, (obj, c) in enumerate(counts.items()):
        if i >= limit:
            out.append(f"… {len(counts) - limit} more\n", style="dim")
            break
        share = c / k
        mark = ""
        if fits is not None and obj in fits:
            f = fits[obj]
            mark = " ✓" if f.consistent is True else (f" ✗Q{f.first_contradiction}" if f.consistent is False else " ?")
        out.append(printable(obj)[:name_w].ljust(name_w) + " ")
        out.append("█" * max(1, round(share * width)), style="green" if mark == " ✓" else ("red" if "✗" in mark else ""))
        out.append(f" {c}/{k}{mark}\n")
    return out


def sparkline(values: list[float | None], top: float) -> str:
    top = top or 1.0
    return "".join(" " if v is None else SPARK[min(7, max(0, round(v / top * 7)))] for v in values)


class TwentyQScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "resample", "Resample reveal", priority=True),
        Binding("ctrl+l", "curve", "Commitment curve", priority=True),
        Binding("ctrl+e", "exact", "Exact posterior", priority=True),
        Binding("ctrl+n", "new_games", "New games", priority=True),
        Binding("ctrl+o", "home", "Home", priority=True),
    ]

    DEFAULT_CSS = """
    TwentyQScreen #games { height: 1fr; }
    TwentyQScreen .side { width: 1fr; border: round $accent; padding: 0 1; }
    TwentyQScreen .turns { height: 1fr; min-height: 5; }
    TwentyQScreen .dist { height: auto; max-height: 14; }
    TwentyQScreen .curve { height: auto; }
    TwentyQScreen #status { height: 1; color: $text-muted; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, *, k: int = 16,
                 secret: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.persona = persona  # the screen always uses the twentyq personas; kept for the app's convention
        self.k = k
        self.fixed_secret = secret
        self.model = None
        self.games: dict[str, object] = {}  # condition -> Transcript
        self.entropy: dict[str, dict[int, float]] = {c: {} for c in CONDITIONS}
        self.nodes: dict[str, object] = {}  # condition -> last NodeAnalysis
        self.posteriors: dict[str, object] = {}
        self.at = 0
        self.busy = False
        self.table = None

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="games"):
            for cond in CONDITIONS:
                with Vertical(classes="side", id=f"side-{cond}"):
                    yield Static(cond, id=f"title-{cond}", markup=False)
                    yield OptionList(id=f"turns-{cond}", classes="turns")
                    yield Static("", id=f"dist-{cond}", classes="dist", markup=False)
                    yield Static("", id=f"curve-{cond}", classes="curve", markup=False)
        yield Static("", id="status", markup=False)
        yield Input(placeholder="ask a yes/no question (enter); empty: nothing", id="question")
        yield Footer()

    async def on_mount(self) -> None:
        self.new_games()
        self.query_one("#question", Input).focus()

    # -- state ------------------------------------------------------------------------------
    def status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(printable(text)))

    def new_games(self) -> None:
        import random

        from improv.games.engine import COMMITTED, UNCOMMITTED, pick_secret
        from improv.personas import get_persona
        from improv.games.table import load_table
        from improv.transcripts.schema import Transcript

        self.table = load_table()
        self.rng = random.Random()  # draws answers from the model's P(yes)/P(no)
        secret = pick_secret(self.fixed_secret or "random", self.table, random.Random())
        self.games = {}
        for cond, sec in ((UNCOMMITTED, None), (COMMITTED, secret)):
            t = Transcript(kind="twentyq", title=f"20 Questions ({cond})",
                           meta={"condition": cond, "secret": sec, "model": self.model_name, "questioner": "human",
                                 "main_leaf": None, "questions": 0, "objects": self.table.name,
                                 "answer_format": None})  # set with the model, on the first question
            t.add_persona(get_persona("twentyq-secret" if sec else "twentyq-host"))  # the persona as it was
            self.games[cond] = t
        self.entropy = {c: {} for c in CONDITIONS}
        self.nodes, self.posteriors, self.at = {}, {}, 0
        self.query_one("#title-committed", Static).update(Text(f"committed (secret: {secret})"))
        self.query_one("#title-uncommitted", Static).update(Text("uncommitted (no secret)"))
        self.refresh_views()
        self.status(f"new games; K={self.k}; ask a question below")

    async def get_model(self):
        if self.model is None:
            from improv.agents.registry import get_model

            self.model = await asyncio.to_thread(get_model, self.model_name)
        return self.model

    def refresh_views(self) -> None:
        from improv.games.engine import main_line

        for cond in CONDITIONS:
            t = self.games.get(cond)
            ol = self.query_one(f"#turns-{cond}", OptionList)
            ol.clear_options()
            options = [Option(Text("start (no questions yet)"), id="at-0")]
            for qa in main_line(t) if t is not None else []:
                line = Text(f"Q{qa.number} ")
                line.append(printable(qa.question))
                line.append(f"  → {printable(qa.answer.strip())} [{qa.label}]", style="bold")
                options.append(Option(line, id=f"at-{qa.number}"))
            ol.add_options(options)
            ol.highlighted = min(self.at, len(options) - 1)
            self.render_distribution(cond)
        self.render_curve()

    def render_distribution(self, cond: str) -> None:
        node = self.nodes.get(cond)
        out = Text()
        if node is not None:
            d = node.sample.distribution
            if d.entropy_bits is None:
                out.append(f"reveals at turn {node.at} (K={d.k}): no reveal named an object\n")
            else:
                out.append(f"reveals at turn {node.at} (K={d.k}): H={d.entropy_bits:.2f} bits over {d.objects}, "
                           f"2^H={d.effective_number:.1f}, top-1 {d.top_mass:.2f}\n")
            out.append_text(bars(d.counts, d.objects, node.fits))
            c = node.consistency
            out.append(f"non-reveals {d.non_reveals}/{d.k}; in the table {d.in_table}/{d.objects}; "
                       f"fit every answer: {'n/a' if c.share is None else f'{c.share:.2f}'} (n={c.checked}); "
                       f"table objects possible: {len(node.remaining)}\n")
        post = self.posteriors.get(cond)
        if post is not None:
            out.append(f"exact posterior: H={post.entropy_bits:.2f} bits, top {printable(post.top or '')} "
                       f"({post.top_mass:.2f})\n")
            for obj, p in list(post.probabilities.items())[:5]:
                out.append(f"  {printable(obj)[:18].ljust(18)} {'█' * max(0, round(p * 20))} {p:.2f}\n")
        self.query_one(f"#dist-{cond}", Static).update(out)

    def render_curve(self) -> None:
        top = max((v for c in CONDITIONS for v in self.entropy[c].values()), default=1.0) or 1.0
        for cond in CONDITIONS:
            pts = self.entropy[cond]
            n = max(pts) + 1 if pts else 0
            values = [pts.get(i) for i in range(n)]
            line = Text("commitment curve: ")
            if values:
                line.append(sparkline(values, top), style="bold")
                line.append("  " + " ".join("·" if v is None else f"{v:.1f}" for v in values))
            else:
                line.append("(resample to draw)", style="dim")
            self.query_one(f"#curve-{cond}", Static).update(line)

    # -- events -----------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted)
    def turn_selected(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id and event.option_id.startswith("at-"):
            self.at = int(event.option_id[3:])

    @on(Input.Submitted, "#question")
    def ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question or self.busy:
            return
        event.input.value = ""
        self.run_worker(self._ask(question), exclusive=True, group="twentyq")

    async def _ask(self, question: str) -> None:
        from improv.games.engine import answer_question, answerer, ask_text, default_answer_format

        self.busy = True
        self.status("asking…")
        try:
            model = await self.get_model()
            from improv.games.answers import LabelSet
            from improv.transcripts.schema import Turn

            async def one(cond: str):
                t = self.games[cond]
                agent = answerer(model, t.meta.get("secret"))
                number = t.meta["questions"] + 1
                parent = t.meta["main_leaf"]
                history = t.messages(parent) if parent else []
                t.meta["answer_format"] = fmt = default_answer_format(model)
                q_turn = t.add(Turn(parent=parent, role="user", content=ask_text(question, fmt), meta={
                    "kind": "question", "number": number, "question": question,
                    "attribute": self.table.attribute_for_question(question)}))
                a_turn = await answer_question(agent, t, q_turn, [*history, q_turn.message()], LabelSet(),
                                       next(iter(t.personas), None), number, self.rng)
                t.meta["main_leaf"] = a_turn.id
                t.meta["questions"] = number
                t.meta["model"] = model.name

            await asyncio.gather(*(one(c) for c in CONDITIONS))
            self.at = self.games[CONDITIONS[0]].meta["questions"]
            self.refresh_views()
            self.status(f"Q{self.at} answered; ctrl+r resamples the reveal here")
        except Exception as err:  # shown, never raised into the app
            self.status(f"error: {err}")
        finally:
            self.busy = False

    def _start(self, coro, note: str) -> None:
        if self.busy:
            self.status("busy…")
            coro.close()
            return
        self.status(note)
        self.run_worker(coro, exclusive=True, group="twentyq")

    def action_resample(self) -> None:
        self._start(self._resample([self.at]), f"resampling the reveal at turn {self.at}…")

    def action_curve(self) -> None:
        n = self.games[CONDITIONS[0]].meta["questions"]
        self._start(self._resample(list(range(n + 1))), "resampling every turn…")

    def action_exact(self) -> None:
        self._start(self._exact(), "exact posterior…")

    async def _resample(self, ats: list[int]) -> None:
        from improv.games.analysis import analyse_node

        self.busy = True
        try:
            model = await self.get_model()
            for at in ats:
                results = await asyncio.gather(*(analyse_node(self.games[c], model, at=at, k=self.k, table=self.table)
                                                 for c in CONDITIONS))
                for cond, node in zip(CONDITIONS, results):
                    self.nodes[cond] = node
                    if node.sample.distribution.entropy_bits is not None:  # no object named: no point
                        self.entropy[cond][at] = node.sample.distribution.entropy_bits
            self.refresh_views()
            self.status(f"resampled K={self.k} at turn {ats[-1] if len(ats) == 1 else '0..' + str(ats[-1])}")
        except Exception as err:
            self.status(f"error: {err}")
        finally:
            self.busy = False

    async def _exact(self) -> None:
        from improv.games.analysis import exact_posterior

        self.busy = True
        try:
            model = await self.get_model()
            for cond in CONDITIONS:
                self.posteriors[cond] = await exact_posterior(self.games[cond], model, at=self.at, table=self.table)
            self.refresh_views()
            self.status(f"exact posterior at turn {self.at}")
        except Exception as err:
            self.status(f"error: {err}")
        finally:
            self.busy = False

    def action_new_games(self) -> None:
        if not self.busy:
            self.new_games()

    def action_home(self) -> None:
        self.app.pop_screen()

    async def on_unmount(self) -> None:
        if self.model is not None:
            try:
                await self.model.aclose()
            except Exception:
                pass
