"""Transcripts browser: search saved transcripts, open one, compare an original with its replay
side by side, and start a replay of what is listed and watch its progress.

The list holds the transcripts of the store (or of the folder typed in the folder box) and the
new transcripts of replay folders (``results.jsonl``) found there or made from this screen.
Opening a replayed transcript shows its source on the left and the replay on the right; the
replies that differ from the recorded ones are marked. The replay runs in a worker on the
app's event loop through `transcripts.replay.run_replay`, whose callbacks drive the progress
bar (done / failed / retrying).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, ProgressBar, Static

from improv.agents.text import first_line, one_line, plural
from improv.transcripts.display import cut_notice, excerpt, short_line
from improv.tui.widgets.data import data, line
from improv.tui.widgets.field import Field


@dataclass
class Entry:
    key: str
    transcript: object  # transcripts.schema.Transcript
    where: str  # file, or replay folder
    haystack: str  # lower-case text searched


def _haystack(t) -> str:
    return " ".join([t.id, t.kind, t.title or "", t.source or "", *(x.content for x in t.turns)]).lower()


def render(transcript, *, compare: bool = False) -> Text:
    """The active branch as plain text (model text is data: no markup)."""
    out = Text()
    if transcript is None:
        return Text("(nothing to show)")
    # Text.append takes a str literally; the sanitiser escapes what would drive the terminal
    out.append(short_line(f"{transcript.title or transcript.id} ({transcript.kind})") + "\n", style="bold")
    for turn in transcript.path():
        who = turn.role + (f" [{turn.model}]" if turn.model else "")
        out.append(one_line(who) + "\n", style="cyan" if turn.role == "user" else "green" if turn.role == "assistant" else "dim")
        style = ""
        if compare and turn.role == "assistant" and "recorded" in turn.meta:
            style = "" if turn.meta["recorded"].strip() == turn.content.strip() else "yellow"
        shown = excerpt(turn.content)  # a huge message is cut, saying so: Rich lays out all it is given
        out.append(shown.text + "\n", style=style)
        if shown.hidden:
            out.append(cut_notice(shown.hidden, "improv transcripts export") + "\n", style="dim")
        out.append("\n")
    return out


def load_source(ref: str | None):
    """The original of a replay: a transcript file, or one line of a messages JSONL."""
    if not ref:
        return None
    from improv.transcripts.replay.inputs import read_jsonl
    from improv.transcripts.store import load

    path, sep, line = ref.rpartition(":")
    if sep and line.isdigit() and path.endswith(".jsonl"):
        for item in read_jsonl(Path(path)):
            if item.origin == ref:
                return item.transcript
        return None
    return load(ref) if Path(ref).exists() else None


class TranscriptsScreen(Screen):
    BINDINGS = [
        Binding("ctrl+f", "search", "Search", priority=True),
        Binding("ctrl+r", "replay", "Replay listed", priority=True),
        Binding("ctrl+l", "reload", "Reload", priority=True),
    ]
    DEFAULT_CSS = """
    TranscriptsScreen #bar { height: auto; }
    TranscriptsScreen #bar Field { width: 1fr; }
    TranscriptsScreen #bar Button { min-width: 10; }
    TranscriptsScreen #list { height: 1fr; min-height: 4; max-height: 12; }
    TranscriptsScreen #sides { height: 2fr; min-height: 6; }
    TranscriptsScreen #sides VerticalScroll { width: 1fr; border: round $panel; }
    TranscriptsScreen #status { height: auto; padding: 0 1; }
    """

    def __init__(self, model: str | None = None, persona: str | None = None, directory: str | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.model_name = model
        self.persona_name = persona
        self.directory = directory
        self.entries: list[Entry] = []
        self.shown: list[Entry] = []
        self.replay_dirs: list[Path] = []
        self.last_result = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="bar"):
            yield Field(placeholder="search title, id, text", id="search")
            yield Field(self.directory or "", placeholder="folder (default: the transcript store)", label="folder", id="folder")
            yield Field(self.model_name or "", placeholder="replay model (provider/model)", label="replay model", id="model")
            yield Button("Replay", id="replay", variant="primary")
        yield DataTable(id="list", cursor_type="row")
        yield ProgressBar(id="progress", show_eta=True)
        yield Static(Text("Select a transcript and press Enter to open it."), id="status")
        with Horizontal(id="sides"):
            with VerticalScroll():
                yield Static(Text(""), id="left")
            with VerticalScroll():
                yield Static(Text(""), id="right")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    # -- listing --------------------------------------------------------------------------------

    def folder(self) -> Path:
        from improv.transcripts.store import default_dir

        text = self.query_one("#folder", Field).value.strip()
        return Path(text) if text else default_dir()

    def action_reload(self) -> None:
        from improv.transcripts.replay.runner import RESULTS, replayed_transcripts
        from improv.transcripts.store import list_transcripts, load

        entries: list[Entry] = []
        folder = self.folder()
        problems = 0
        for path in list_transcripts(folder):
            try:
                t = load(path)
            except Exception:
                problems += 1
                continue
            entries.append(Entry(f"file:{path}", t, str(path), _haystack(t)))
        dirs = list(self.replay_dirs)
        if folder.is_dir():
            dirs += [p.parent for p in sorted(folder.glob(f"*/{RESULTS}")) if p.parent not in dirs]
            if (folder / RESULTS).exists() and folder not in dirs:
                dirs.append(folder)
        for d in dirs:
            try:
                for record, t in replayed_transcripts(d):
                    entries.append(Entry(f"replay:{d}:{record['id']}", t, str(d), _haystack(t)))
            except Exception:
                problems += 1
        self.entries = entries
        self.apply_filter()
        note = f" ({problems} unreadable skipped)" if problems else ""
        self.set_status(f"{len(entries)} transcript{'' if len(entries) == 1 else 's'} in {folder}{note}")

    def apply_filter(self) -> None:
        query = self.query_one("#search", Field).value.strip().lower()
        words = query.split()
        self.shown = [e for e in self.entries if all(w in e.haystack for w in words)]
        table = self.query_one("#list", DataTable)
        table.clear(columns=True)  # the columns again, so their widths fit what is listed now
        table.add_columns("id", "kind", "title", "turns", "from")
        for e in self.shown:
            t = e.transcript
            # a str cell would be read as markup: every cell from a file is a literal Text
            table.add_row(line(t.id), line(t.kind), line(t.title or ""), str(len(t.turns)),
                          line(Path(e.where).name), key=e.key)

    @on(Field.Changed, "#search")
    def _search_changed(self) -> None:
        self.apply_filter()

    @on(Field.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one("#list", DataTable).focus()  # enter: on to the list, where enter opens

    @on(Field.Submitted, "#folder")
    def _folder_changed(self) -> None:
        self.action_reload()

    def action_search(self) -> None:
        self.query_one("#search", Field).focus()

    def set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(data(text))

    # -- opening and comparing -----------------------------------------------------------------

    @on(DataTable.RowSelected, "#list")
    def _open_row(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        entry = next((e for e in self.shown if e.key == key), None)
        if entry is not None:
            self.open(entry)

    def open(self, entry: Entry) -> None:
        t = entry.transcript
        left, right = self.query_one("#left", Static), self.query_one("#right", Static)
        if t.kind == "replay":
            try:
                original = load_source(t.source)
            except Exception as err:
                original = None
                self.set_status(f"source {t.source}: {first_line(err)}")
            left.update(render(original) if original is not None else line(f"(source not found: {t.source})"))
            right.update(render(t, compare=True))
            same = [x.content.strip() == x.meta["recorded"].strip() for x in t.turns
                    if x.role == "assistant" and "recorded" in x.meta]
            if same:
                self.set_status(f"{t.id}: replay of {t.source}; {sum(same)}/{len(same)} replies equal the recorded ones "
                                "(differences in yellow)")
        else:
            left.update(render(t))
            replays = [e.transcript for e in self.entries
                       if e.transcript.kind == "replay" and e.transcript.meta.get("source_id") == t.id]
            right.update(render(replays[-1], compare=True) if replays else Text("(no replay of this transcript yet)"))
            self.set_status(f"{t.id}: {len(t.turns)} turns; {plural(len(replays), 'replay')}")

    # -- replaying -----------------------------------------------------------------------------

    @on(Button.Pressed, "#replay")
    def action_replay(self) -> None:
        sources = [e for e in self.shown if e.key.startswith("file:")]
        if not sources:
            self.set_status("nothing to replay: no transcript file is listed")
            return
        self.run_replay(sources)

    @work(exclusive=True, group="replay")
    async def run_replay(self, sources: list[Entry]) -> None:
        import asyncio

        from improv.agents.spec import build_agent
        from improv.tui.app import run_spec
        from improv.transcripts.replay.inputs import ReplayItem
        from improv.transcripts.replay.modes import Regenerate
        from improv.transcripts.replay.runner import run_replay
        from improv.transcripts.store import replays_dir

        bar = self.query_one("#progress", ProgressBar)
        model_text = self.query_one("#model", Field).value.strip() or None
        out = replays_dir() / time.strftime("%Y%m%d-%H%M%S")
        items = [ReplayItem(id=e.transcript.id, transcript=e.transcript, origin=e.where) for e in sources]
        bar.update(total=len(items), progress=0)

        def on_progress(p) -> None:
            bar.update(total=p.total, progress=p.skipped + p.finished)
            self.set_status(f"replaying into {out}: done {p.done}, failed {p.failed}, retrying {p.retrying}")

        try:
            spec = run_spec(self, model_text, persona=self.persona_name)
            agent = await asyncio.to_thread(build_agent, spec)  # the built-in model loads its weights here
            model = agent.model
            try:
                result = await run_replay(items, Regenerate(agent), out, concurrency=8, models=[model],
                                          run_info={"model": model.name}, on_progress=on_progress)
            finally:
                await model.aclose()
        except Exception as err:
            self.set_status(f"replay failed: {first_line(err)}")
            return
        self.last_result = result
        self.replay_dirs.append(out)
        o = result.summary.overall
        exact = f"{o.exact_match:.0%}" if o.exact_match is not None else "-"
        self.action_reload()
        self.set_status(f"replay done into {out}: {o.done} done, {o.failed} failed, exact match {exact}")
