"""`ImprovApp`: the Textual app shell. A home screen lists the registered screens
(`tui.registry.SCREENS`); each is imported only when first opened and receives the app's
options (see the constructor convention in `tui.registry`)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from improv.tui import registry
from improv.tui.registry import ScreenEntry


@dataclass
class AppOptions:
    model: str | None = None  # model string; None: $IMPROV_MODEL or the built-in model
    persona: str | None = None  # persona name or file path
    variables: dict[str, str] = field(default_factory=dict)  # persona template variables
    out: Path | None = None  # transcript directory; None: the default store

    def describe(self) -> str:
        from improv.tui.widgets.picker import default_model

        parts = [f"model: {default_model(self.model)}", f"persona: {self.persona or 'none'}"]
        if self.variables:
            parts.append("vars: " + ", ".join(f"{k}={v}" for k, v in self.variables.items()))
        if self.out:
            parts.append(f"transcripts: {self.out}")
        return " · ".join(parts)


class ImprovApp(App):
    TITLE = "improv"
    SUB_TITLE = "role-play workbench"
    CSS_PATH = str(Path(__file__).with_name("styles.tcss"))  # absolute: subclasses elsewhere find it too
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", priority=True, show=False)]

    def __init__(
        self,
        model: str | None = None,
        persona: str | None = None,
        *,
        variables: dict[str, str] | None = None,
        out: Path | str | None = None,
        start: str | None = None,
    ) -> None:
        super().__init__()
        self.options = AppOptions(model, persona, dict(variables or {}), Path(out) if out else None)
        self.start = start  # key of a screen to open at once (e.g. "c")

    def on_mount(self) -> None:
        from improv.tui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        if self.start:
            self.open_screen(self.start)

    def entry(self, key: str) -> ScreenEntry | None:
        return next((e for e in registry.SCREENS if e.key == key), None)

    def open_screen(self, key: str) -> Screen | None:
        """Open the registered screen ``key`` (built on first use, then resumed). A screen that
        cannot be imported or built gives a one-line notice, and the app carries on."""
        entry = self.entry(key)
        if entry is None:
            self.notify(f"no screen on key {key!r}", severity="warning", markup=False)
            return None
        name = f"screen-{entry.key}"
        if not self.is_screen_installed(name):
            module_name, _, class_name = entry.target.partition(":")
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except ImportError as err:
                missing = getattr(err, "name", None) or module_name
                self.notify(f"{entry.title}: not available (cannot import {missing})", severity="warning", markup=False)
                return None
            except AttributeError:
                self.notify(f"{entry.title}: {module_name} has no {class_name}", severity="warning", markup=False)
                return None
            try:
                screen = cls(model=self.options.model, persona=self.options.persona)
            except Exception as err:  # a broken screen must not take the app down
                from improv.tui.widgets.data import error_line

                self.notify(f"{entry.title}: cannot open: {error_line(err)}", severity="error", markup=False)
                return None
            self.install_screen(screen, name=name)
        self.push_screen(name)
        return self.get_screen(name)


def run_app(**kwargs) -> None:
    ImprovApp(**kwargs).run()
