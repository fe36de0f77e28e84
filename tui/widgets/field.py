"""`Field`: the text field every screen uses.

- Focusing it never selects its text (Textual's `Input` does by default), so one stray key
  after tabbing in cannot wipe a model string. Escape leaves it (the app's binding, `tui.app`).
- Its value is drawn as data: a control character in it (a ``--var`` value, a pasted file
  name) is drawn as a visible stand-in (``␛`` for ESC, ``�`` for C1 and bidi controls), one
  character for one, so the cursor and selection stay where they are and nothing raw reaches
  the terminal. The value itself is left as typed.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.expand_tabs import expand_tabs_inline
from textual.widgets import Input

from improv.agents.text import one_line


def stand_in(ch: str) -> str:
    """``ch``, or the visible character drawn in its place if it is unsafe on a terminal."""
    if ch == "\t" or one_line(ch) == ch:
        return ch
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ .. ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def drawn(value: str) -> str:
    """The value as the field draws it (same length, every unsafe character stood in for)."""
    return "".join(stand_in(ch) for ch in value) if one_line(value.replace("\t", " ")) != value.replace("\t", " ") else value


class Field(Input):
    def __init__(self, value: str | None = None, placeholder: str = "", *, label: str | None = None, **kwargs) -> None:
        """``label``: a name kept on the field's border, for a field whose placeholder a default
        value hides (a bare "5" says nothing)."""
        kwargs.setdefault("select_on_focus", False)
        super().__init__(value, placeholder, **kwargs)
        if label:
            self.border_title = label

    @property
    def _value(self) -> Text:
        if self.password:
            return super()._value
        text = Text(drawn(self.value), no_wrap=True, overflow="ignore", end="")
        return self.highlighter(text) if self.highlighter is not None else text

    def _position_to_cell(self, position: int) -> int:
        return cell_len(expand_tabs_inline(drawn(self.value[:position]), 4))
