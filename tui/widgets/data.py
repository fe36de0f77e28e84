"""Outside text shown as data: what a model, persona, card or file wrote is never read as
Rich/Textual markup and never reaches the terminal with raw control characters.

Every screen builds what it shows from such text with these helpers (errors: `agents.text.first_line`) (a `rich.text.Text`, whose
content is literal, from the sanitised string of `improv.agents.text`).
"""

from __future__ import annotations

from rich.text import Text

from improv.agents.text import one_line, printable


def data(text: object, style: str = "") -> Text:
    """Multi-line outside text as a literal `Text` (newlines and tabs kept, controls escaped)."""
    return Text(printable(str(text)), style=style)


def line(text: object, style: str = "") -> Text:
    """A name, title or table cell as a literal one-line `Text` (newlines escaped too)."""
    return Text(one_line(str(text)), style=style)

