"""Screens of the app, registered by dotted path so each is imported only when opened.

To add a screen: write ``tui/screens/<name>.py`` with a ``Screen`` subclass and add one entry
here. Screen constructors take keyword options (model, persona, transcript path...) from the
app's `AppOptions`.
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
    ScreenEntry("c", "Chat", "tui.screens.chat:ChatScreen", "chat with an agent; regenerate and browse branches"),
]
