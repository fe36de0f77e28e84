"""How much of a transcript's text a terminal view shows, and what it says about the rest.

A transcript file may hold a message of tens of megabytes (a pasted document, or a hostile
file within the 128 MiB budget). Rendering all of it through Rich costs several times its
size in memory, and nobody reads it in a terminal: a view shows the first `SHOW_CHARS`
characters of each message and says how many it left out (the export commands give it all).
Names and titles shown on one line are cut at `NAME_CHARS` the same way. Cutting before
sanitising keeps the sanitiser's pass as small as what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from improv.agents.text import one_line, printable

#: Characters of one message a view shows: about 250,000 tokens, more than a model writes in
#: one reply, so only pasted documents and hostile files are cut.
SHOW_CHARS = 1_000_000
#: Characters of a name, title or id shown on one line (a table cell, a heading).
NAME_CHARS = 200


@dataclass(frozen=True)
class Excerpt:
    """The shown part of a text, sanitised (`agents.text.printable`), and how many
    characters of the original it leaves out (0: all of it is shown)."""

    text: str
    hidden: int


def excerpt(text: str, limit: int = SHOW_CHARS) -> Excerpt:
    """The first ``limit`` characters of ``text``, safe for a terminal."""
    if len(text) <= limit:
        return Excerpt(printable(text), 0)
    return Excerpt(printable(text[:limit]), len(text) - limit)


def short_line(text: str, limit: int = NAME_CHARS) -> str:
    """A name or title on one line, safe for a terminal; past ``limit`` characters it is cut
    and ends in ``… (N more characters)``."""
    if len(text) <= limit:
        return one_line(text)
    return f"{one_line(text[:limit])}… ({more(len(text) - limit)})"


def more(hidden: int) -> str:
    """``1 more character``, ``1,234 more characters``: what a view says it left out."""
    return f"{hidden:,} more character{'' if hidden == 1 else 's'}"


def cut_notice(hidden: int, command: str) -> str:
    """The line a view prints after a cut message: how much it left out and what prints it all."""
    return one_line(f"[… {more(hidden)} of this message not shown; {command} prints all of it]")
