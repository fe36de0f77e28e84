"""`ImprovApp`: the Textual app shell. A home screen lists the registered screens
(`tui.registry.SCREENS`); each is imported only when first opened and receives the app's
options (see the constructor convention in `tui.registry`).

What every screen shares is defined here, once: the way home (`HOME_KEY`, shown in every
footer) and Escape leaving a text field (to the screen's next widget that is not one, or to
none). A screen that wants Escape for something else binds it itself and calls
`leave_field` when it has nothing else to do."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from improv.tui import registry
from improv.tui.registry import ScreenEntry


@dataclass
class AppOptions:
    model: str | None = None  # model string; None: $IMPROV_MODEL or the built-in model
    persona: str | None = None  # persona name or file path
    variables: dict[str, str] = field(default_factory=dict)  # persona template variables
    out: Path | None = None  # transcript directory; None: the default store
    # what `improv tui` was given for any model a screen builds (the run spec's model-wide settings)
    chat_template: str | None = None  # Jinja template file for an hf/ model without one
    cache: bool = False  # reuse earlier samples from the on-disk response cache
    max_connections: int | None = None  # concurrent requests per endpoint; None: the default

    def describe(self) -> str:
        from improv.agents.spec import default_model

        parts = [f"model: {self.model or default_model()}", f"persona: {self.persona or 'none'}"]
        if self.variables:
            parts.append("vars: " + ", ".join(f"{k}={v}" for k, v in self.variables.items()))
        if self.out:
            parts.append(f"transcripts: {self.out}")
        return " · ".join(parts)

    def spec(self, model: str | None, **settings):
        """The run spec for a model a screen builds: the screen's own fields (model string,
        persona, variables, generation settings) with the app's model-wide settings."""
        from improv.agents.spec import parse_run_spec

        model_wide = {"chat_template": self.chat_template, "cache": self.cache}
        if self.max_connections is not None:
            model_wide["max_connections"] = self.max_connections
        return parse_run_spec(model, **{**model_wide, **settings})


def run_spec(screen: Screen, model: str | None, **settings):
    """`AppOptions.spec` for a screen, which also runs under a bare `App` in tests (no options)."""
    options = getattr(screen.app, "options", None) or AppOptions()
    return options.spec(model, **settings)


HOME_KEY = "ctrl+o"


def is_field(widget: Widget | None) -> bool:
    """A widget that takes typed text (where a stray key would change something)."""
    from textual.widgets import Input, TextArea

    return isinstance(widget, (Input, TextArea))


class ImprovApp(App):
    TITLE = "improv"
    SUB_TITLE = "role-play workbench"
    CSS_PATH = str(Path(__file__).with_name("styles.tcss"))  # absolute: subclasses elsewhere find it too
    BINDINGS = [
        Binding("ctrl+c", "quit", "Quit", priority=True, show=False),
        Binding(HOME_KEY, "home", "Home", priority=True),  # the one way home, from any screen
        Binding("escape", "leave_field", "Leave field", show=False),
    ]

    def __init__(
        self,
        model: str | None = None,
        persona: str | None = None,
        *,
        variables: dict[str, str] | None = None,
        out: Path | str | None = None,
        start: str | None = None,
        chat_template: str | None = None,
        cache: bool = False,
        max_connections: int | None = None,
    ) -> None:
        super().__init__()
        self.options = AppOptions(model, persona, dict(variables or {}), Path(out) if out else None,
                                  chat_template, cache, max_connections)
        self.start = start  # key of a screen to open at once (e.g. "c")

    def on_mount(self) -> None:
        from improv.tui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        if self.start:
            self.open_screen(self.start)

    # -- what every screen shares -------------------------------------------------------------
    def is_home(self) -> bool:
        from improv.tui.screens.home import HomeScreen

        return isinstance(self.screen, HomeScreen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "home" and self.is_home():
            return False  # already there: not shown, and the key goes on to the screen
        return True

    def action_home(self) -> None:
        """Back to the home screen; the screens left are kept as they are (installed)."""
        while len(self.screen_stack) > 1 and not self.is_home():
            self.pop_screen()

    def action_leave_field(self) -> None:
        leave_field(self.screen)

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
                from improv.agents.text import first_line

                self.notify(f"{entry.title}: cannot open: {first_line(err)}", severity="error", markup=False)
                return None
            self.install_screen(screen, name=name)
        self.push_screen(name)
        return self.get_screen(name)


def leave_field(screen: Screen) -> None:
    """Move focus out of a text field: to the next focusable widget that is not a field, else
    to nothing (keys then go to the screen's bindings)."""
    focused = screen.focused
    if not is_field(focused):
        return
    chain = screen.focus_chain
    start = chain.index(focused) if focused in chain else -1
    for widget in chain[start + 1:] + chain[:max(start, 0)]:
        if not is_field(widget):
            widget.focus()
            return
    screen.set_focus(None)


def run_app(**kwargs) -> None:
    ImprovApp(**kwargs).run()
