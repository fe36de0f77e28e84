"""The home screen: the registered screens (`tui.registry.SCREENS`), each opened by its key.

A registered screen whose module is missing is listed as unavailable, and opening it shows a
one-line notice instead of crashing the app.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from improv.tui import registry
from improv.tui.app import HOME_KEY
from improv.tui.registry import ScreenEntry
from improv.tui.widgets.data import line


def available(entry: ScreenEntry) -> bool:
    """Whether the entry's module exists (found without importing it)."""
    import importlib.util

    module = entry.target.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def entry_text(entry: ScreenEntry, ok: bool, width: int = 0) -> Text:
    text = Text()
    text.append(f" {entry.key} ", style="bold reverse")
    text.append(f"  {entry.title.ljust(width)}", style="bold" if ok else "dim")
    text.append(f"  {entry.description}", style="" if ok else "dim")
    if not ok:
        text.append("  (not available)", style="italic dim")
    return text


class HomeScreen(Screen):
    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        width = max((len(e.title) for e in registry.SCREENS), default=0)
        yield Header()
        yield Static(
            Text.assemble(
                ("improv", "bold"),
                " — a workbench for studying how LLM dialogue agents role-play.\n",
                f"Press a key (or choose and press enter) to open a screen; {HOME_KEY} comes back here; q quits.",
            ),
            id="intro",
        )
        yield OptionList(
            *(Option(entry_text(e, available(e), width), id=e.key) for e in registry.SCREENS),
            id="screens",
        )
        yield Static("", id="options", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        options = getattr(self.app, "options", None)
        if options is not None:
            self.query_one("#options", Static).update(line(options.describe()))  # persona path, vars: data
        self.query_one("#screens", OptionList).focus()

    @on(OptionList.OptionSelected, "#screens")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.open_screen(event.option.id)  # type: ignore[attr-defined]

    def on_key(self, event: events.Key) -> None:
        for entry in registry.SCREENS:
            if event.key == entry.key or event.character == entry.key:
                event.stop()
                self.app.open_screen(entry.key)  # type: ignore[attr-defined]
                return
