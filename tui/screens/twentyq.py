"""20 Questions screen: the same questions put to an uncommitted answerer and to one under a
commitment protocol (committed, private memory or sealed), side by side. The screen only drives
two `improv.games.game.Game` objects (the CLI's) and draws what they return; every game is saved
as a transcript as it happens, and its path is shown.

- Type a yes/no question and press enter: both games get it (same question, same turn).
- Up/down in either list selects a turn (``start`` = before the first question); the figures
  show that turn, and say so (a turn not yet measured says that instead).
- ``ctrl+r`` resamples the reveal K times at the selected turn in both games (one n=K call
  each): the reveal distribution, each object's fit to the answers, and a plot of the exact
  posterior (where measured) beside the sampled reveals.
- ``ctrl+l`` resamples at every turn: the commitment curve (reveal entropy by turn, plotted).
- ``ctrl+e`` the exact posterior at the selected turn (backends that can score).
- ``ctrl+t`` the logit lens at the selected turn (in-process models): the answerer's own readout
  of the candidate objects from its hidden state, beside the sampled reveals (`games.lens`).
- ``ctrl+n`` new games; changing the protocol or the object table starts new games too.
- Escape leaves a field; the app's home key (shown in the footer) goes home.

All model text is shown as plain text (never markup).
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from improv.agents.text import printable
from improv.tui.widgets.field import Field

SIDES = ("left", "right")
PROTOCOLS = ("committed", "private", "sealed")  # the right side; the left is always uncommitted
TABLES = ("builtin", "everyday")


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


class TwentyQScreen(Screen):
    BINDINGS = [
        # short descriptions: the footer fits at 80 columns with the app's home key
        Binding("ctrl+r", "resample", "Resample", priority=True),
        Binding("ctrl+l", "curve", "Curve", priority=True),
        Binding("ctrl+e", "exact", "Exact", priority=True),
        Binding("ctrl+t", "lens", "Lens", priority=True),
        Binding("ctrl+n", "new_games", "New", priority=True),
    ]

    DEFAULT_CSS = """
    TwentyQScreen #settings { height: 3; }
    TwentyQScreen #settings Select { width: 24; }
    TwentyQScreen #setting { width: 1fr; padding: 1 1; color: $text-muted; }
    TwentyQScreen #body { height: 1fr; }
    TwentyQScreen #games { height: auto; }
    TwentyQScreen .side { width: 1fr; height: auto; border: round $accent; padding: 0 1; }
    TwentyQScreen .turns { height: auto; max-height: 8; }
    TwentyQScreen .dist { height: auto; }
    TwentyQScreen .plot { height: 14; min-height: 10; }
    TwentyQScreen #curve { height: 16; min-height: 10; }
    TwentyQScreen #status { height: auto; max-height: 2; color: $text-muted; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, *, k: int = 16,
                 secret: str | None = None, protocol: str = "committed", objects: str = "builtin", **kwargs) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.persona = persona  # the games use their own personas; kept for the app's convention
        self.k = k
        self.fixed_secret = secret
        self.protocol = protocol
        self.objects = objects
        self.model = None
        self.games: dict[str, object] = {}  # side -> improv.games.game.Game
        self.at = 0
        self.busy = False
        self.lens = None  # games.lens.Lens over the table's objects, built on first use
        self.readouts: dict[tuple[str, int], object] = {}  # (side, turn) -> games.lens.Readout

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="settings"):
            yield Select([(p, p) for p in PROTOCOLS], value=self.protocol, allow_blank=False, id="protocol")
            yield Select([(t, t) for t in TABLES], value=self.objects, allow_blank=False, id="objects")
            yield Static("", id="setting", markup=False)
        with VerticalScroll(id="body"):
            with Horizontal(id="games"):
                for side in SIDES:
                    with Vertical(classes="side", id=f"side-{side}"):
                        yield Static("", id=f"title-{side}", markup=False)
                        yield OptionList(id=f"turns-{side}", classes="turns")
                        yield Static("", id=f"dist-{side}", classes="dist", markup=False)
                        yield PlotextPlot(id=f"plot-{side}", classes="plot")
            yield PlotextPlot(id="curve")
        yield Static("", id="status", markup=False)
        yield Field(placeholder="ask a yes/no question (enter)", id="question")
        yield Footer()

    async def on_mount(self) -> None:
        self.new_games()
        self.query_one("#question", Field).focus()

    # -- state ------------------------------------------------------------------------------
    def status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(printable(text)))

    def out_dir(self):
        options = getattr(self.app, "options", None)
        return getattr(options, "out", None)

    def model_label(self) -> str:
        if self.model is not None:
            return self.model.name
        from improv.agents.spec import default_model

        return self.model_name or default_model()

    async def get_model(self):
        if self.model is None:
            from improv.agents.spec import build_model
            from improv.tui.app import run_spec

            self.model = await asyncio.to_thread(build_model, run_spec(self, self.model_name))
        return self.model

    def new_games(self) -> None:
        """Fresh games; they are made (and saved) with the model on the first question."""
        self.games, self.at = {}, 0
        self.lens, self.readouts = None, {}
        self.query_one("#setting", Static).update(Text(f"K={self.k} reveals per resample"))
        self.refresh_views()
        self.status(f"new games: uncommitted vs {self.protocol} ({self.objects} table); ask a question below")

    async def ensure_games(self) -> None:
        import random

        from improv.games.engine import pick_secret
        from improv.games.game import Game
        from improv.games.table import load_table

        if self.games:
            return
        model = await self.get_model()
        table = load_table(self.objects)
        secret = pick_secret(self.fixed_secret or "random", table, random.Random()) if self.protocol == "committed" else None
        self.games = {
            "left": Game.new(model, condition="uncommitted", table=table, rng=random.Random()),
            "right": Game.new(model, condition=self.protocol, secret=secret, table=table, rng=random.Random()),
        }
        await asyncio.gather(*(g.start() for g in self.games.values()))  # private, sealed: the answerer chooses
        self.save_games()

    def save_games(self) -> None:
        for game in self.games.values():
            game.save(self.out_dir())

    def game_title(self, side: str) -> Text:
        game = self.games.get(side)
        cond = "uncommitted" if side == "left" else self.protocol
        if game is None:
            return Text(f"{cond} · (starts with the first question)")
        held = ""
        if game.condition == "committed":
            held = f" · secret: {game.secret}"
        elif game.condition in ("private", "sealed"):
            held = f" · its own choice (hidden from the questioner): {game.secret or 'none named'}"
        return Text(f"{game.condition}{held}\nsaved: {printable(str(game.path or 'not yet'))}")

    def refresh_views(self) -> None:
        for side in SIDES:
            game = self.games.get(side)
            self.query_one(f"#title-{side}", Static).update(self.game_title(side))
            ol = self.query_one(f"#turns-{side}", OptionList)
            ol.clear_options()
            options = [Option(Text("start (no questions yet)"), id="at-0")]
            for qa in game.exchanges if game is not None else []:
                line = Text(f"Q{qa.number} ")
                line.append(printable(qa.question))
                line.append(f"  → {printable(qa.answer.strip())} [{qa.label}]", style="bold")
                options.append(Option(line, id=f"at-{qa.number}"))
            ol.add_options(options)
            ol.highlighted = min(self.at, len(options) - 1)
        self.render_figures()

    def setting(self, game) -> str:
        from improv.games.plots import setting_label

        return setting_label(self.model_label(), game.condition if game else None, self.k, self.objects)

    def render_figures(self) -> None:
        """Every figure for the selected turn only, titled with that turn and its setting."""
        from improv.games.plots import commitment_curve, posterior_vs_reveals

        at = self.at
        for side in SIDES:
            game = self.games.get(side)
            node = game.nodes.get(at) if game is not None else None
            post = game.posterior_at(at) if game is not None else None
            out = Text()
            if node is None:
                out.append(f"turn {at}: no reveals sampled here yet (ctrl+r)\n", style="dim")
            else:
                d = node.sample.distribution
                head = f"turn {at} · {self.setting(game)}: "
                if d.entropy_bits is None:
                    out.append(head + f"no reveal of {d.k} named an object\n")
                else:
                    out.append(head + f"H={d.entropy_bits:.2f} bits over {d.objects} object reveals, "
                               f"2^H={d.effective_number:.1f}, top-1 {d.top_mass:.2f}\n")
                out.append_text(bars(d.counts, d.objects, node.fits))
                c = node.consistency
                share = "n/a" if c.share is None else f"{c.share:.2f}"
                out.append(f"non-reveals {d.non_reveals}/{d.k}; in the table {d.in_table}/{d.objects}; "
                           f"fit every answer: {share} (n={c.checked}); table objects possible: {len(node.remaining)}\n")
                if node.sample.seal_matches is not None:
                    out.append(f"open the seal: {node.sample.seal_matches}/{d.objects} object reveals\n")
            lens = self.readouts.get((side, at))
            if lens is not None:
                shares = ", ".join(f"{printable(o)} {p:.2f}" for o, p in lens.top)
                held = f"; held {printable(lens.held)} ranks {lens.held_rank}/{lens.candidates}" if lens.held else ""
                out.append(f"turn {at} logit lens (row {lens.row}/{lens.rows - 1}, share among {lens.candidates} "
                           f"candidates): {shares}{held}\n")
            if post is not None:
                out.append(f"turn {at} exact posterior: H={post.entropy_bits:.2f} bits, top {printable(post.top or '')} "
                           f"({post.top_mass:.2f})\n")
            self.query_one(f"#dist-{side}", Static).update(out)
            plot = self.query_one(f"#plot-{side}", PlotextPlot)
            posterior_vs_reveals(plot.plt, node, post, at=at, setting=self.setting(game), width=plot.size.width or None)
            plot.refresh()
        curves = {g.condition: g.entropy_by_turn() for g in self.games.values()}
        exact = {g.condition: g.exact_entropy_by_turn() for g in self.games.values()}
        curve = self.query_one("#curve", PlotextPlot)
        commitment_curve(curve.plt, curves, exact=exact, width=curve.size.width or None,
                         setting=f"{printable(self.model_label())} · K={self.k} · {self.objects} table")
        curve.refresh()

    # -- events -----------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted)
    def turn_selected(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id and event.option_id.startswith("at-"):
            at = int(event.option_id[3:])
            if at != self.at:
                self.at = at
                self.render_figures()

    @on(Select.Changed)
    def setting_changed(self, event: Select.Changed) -> None:
        value = str(event.value)
        if event.select.id == "protocol" and value != self.protocol:
            self.protocol = value
        elif event.select.id == "objects" and value != self.objects:
            self.objects = value
        else:
            return
        if self.busy:
            self.status("busy: the new setting applies to the next new games (ctrl+n)")
            return
        self.new_games()

    @on(Field.Submitted, "#question")
    def ask(self, event: Field.Submitted) -> None:
        question = event.value.strip()
        if not question or self.busy:
            return
        event.input.value = ""
        self._start(self._ask(question), "asking…")

    async def _ask(self, question: str) -> None:
        await self.ensure_games()
        qas = await asyncio.gather(*(g.ask(question) for g in self.games.values()))
        self.save_games()
        self.at = qas[0].number
        self.refresh_views()
        self.status(f"Q{self.at} answered; ctrl+r resamples the reveal here")

    def _start(self, coro, note: str) -> None:
        if self.busy:
            self.status("busy…")
            coro.close()
            return
        self.status(note)
        self.busy = True
        self.run_worker(self._guarded(coro), exclusive=True, group="twentyq")

    async def _guarded(self, coro) -> None:
        from improv.agents.text import first_line

        try:
            await coro
        except Exception as err:  # shown, never raised into the app
            self.status(f"error: {first_line(err)}")
        finally:
            self.busy = False

    def action_resample(self) -> None:
        self._start(self._resample([self.at]), f"resampling the reveal at turn {self.at}…")

    def action_curve(self) -> None:
        n = len(self.games["left"].exchanges) if self.games else 0
        self._start(self._resample(list(range(n + 1))), "resampling every turn…")

    def action_exact(self) -> None:
        self._start(self._exact(), f"exact posterior at turn {self.at}…")

    async def _resample(self, ats: list[int]) -> None:
        await self.ensure_games()
        for at in ats:
            await asyncio.gather(*(g.analyse(at, k=self.k) for g in self.games.values()))
        self.save_games()
        self.render_figures()
        self.status(f"resampled K={self.k} at turn {ats[0] if len(ats) == 1 else f'0..{ats[-1]}'}")

    async def _exact(self) -> None:
        await self.ensure_games()
        for game in self.games.values():
            await game.exact_posterior(self.at)
        self.render_figures()
        self.status(f"exact posterior at turn {self.at}")

    def action_lens(self) -> None:
        self._start(self._lens(), f"logit lens at turn {self.at}…")

    async def _lens(self) -> None:
        from improv.games.lens import lens_for, readout

        await self.ensure_games()
        if self.lens is None:
            self.lens = await lens_for(self.model, next(iter(self.games.values())).table.objects)
        for side, game in self.games.items():
            self.readouts[(side, self.at)] = await readout(game, self.at, self.lens)
        self.render_figures()
        self.status(f"logit lens at turn {self.at}")

    def action_new_games(self) -> None:
        if not self.busy:
            self.new_games()

    async def on_unmount(self) -> None:
        if self.model is not None:
            try:
                await self.model.aclose()
            except Exception:
                pass
