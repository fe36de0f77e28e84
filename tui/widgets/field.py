"""`Field`: the text field every screen uses.

Focusing it never selects its text (Textual's `Input` does by default), so one stray key after
tabbing in cannot wipe a model string. Escape leaves it (the app's binding, `tui.app`).
"""

from __future__ import annotations

from textual.widgets import Input


class Field(Input):
    def __init__(self, value: str | None = None, placeholder: str = "", **kwargs) -> None:
        kwargs.setdefault("select_on_focus", False)
        super().__init__(value, placeholder, **kwargs)
