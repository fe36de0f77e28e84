"""Screens of the app, registered by dotted path so each is imported only when opened.

To add a screen: write ``tui/screens/<name>.py`` with a ``textual.screen.Screen`` subclass and
add one `ScreenEntry` line to `SCREENS` (the key opens it from the home screen).

Constructor convention: the app builds a screen as ``Class(model=..., persona=...)``, both
keyword arguments of type ``str | None`` (the model string and persona name or path the user
gave with ``improv tui -m/-p``; None means "the default": ``$IMPROV_MODEL`` or the built-in
model, and no persona). Accept and ignore what you do not use (``**kwargs`` is fine). Further
app options (template ``variables: dict[str, str]``, the transcript directory ``out``) are on
``self.app.options`` (`tui.app.AppOptions`); read them with
``getattr(self.app, "options", None)`` so the screen also runs under a bare ``App`` in tests.
The app opens each screen once and keeps it (installed), so coming back resumes it. What every
screen shares is the app's, defined once in `tui.app`: the way home (``HOME_KEY``, ctrl+o, shown in
every footer; a screen does not bind it) and Escape leaving a text field. A screen that wants
Escape for itself binds it and calls `tui.app.leave_field` when it has nothing else to do.

A screen keeps its word at 80x24 (`tests/tui/test_every_screen.py` checks every entry here):
its footer keys fit on one line, anything taller than the screen sits in a scroll container,
its text fields are `tui.widgets.field.Field` (no text selected on focus; controls drawn as
stand-ins), and outside text (model, persona, file) is shown through `tui.widgets.data`.
A screen whose module is missing, or whose constructor raises, is reported as a one-line
notice on the home screen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScreenEntry:
    key: str  # the binding that opens it from the home screen
    title: str
    target: str  # "module:Class"
    description: str


SCREENS: list[ScreenEntry] = [
    ScreenEntry("c", "Chat", "improv.tui.screens.chat:ChatScreen", "chat with an agent; regenerate and browse branches"),
    ScreenEntry("2", "20 Questions", "improv.tui.screens.twentyq:TwentyQScreen", "committed vs uncommitted answerer; resample the reveal, commitment curve"),
    ScreenEntry("f", "Classify a falsehood", "improv.tui.screens.classify:ClassifyScreen", "confabulation, good faith or deception: neutral vs in-role evidence"),
    ScreenEntry("i", "Introspection", "improv.tui.screens.introspect:IntrospectScreen", "hypothetical self-prediction quiz, scored live"),
    ScreenEntry("t", "Transcripts", "improv.tui.screens.transcripts:TranscriptsScreen", "browse and search transcripts; replay them, compare original and replay side by side"),
]
