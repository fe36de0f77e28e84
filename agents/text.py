"""Outside text is data: the one sanitiser for everything shown in a terminal or exported.

Model replies, persona and card fields, transcript titles, file names: any of them can hold
terminal control sequences (clear screen, OSC window title, alternate screen, BEL, BS, CR),
C1 controls, bidirectional overrides that make text read differently from what it is, or lone
surrogates that cannot even be encoded. Every path from such text to a terminal or a Markdown
or JSONL export goes through one of these functions:

- `printable`: multi-line text (newline and tab kept), everything else shown as ``\\xNN`` /
  ``\\uNNNN``;
- `one_line`: a name, title or heading: newline and tab escaped too;
- `json_safe`: an already dumped JSON document with the same characters as ``\\uNNNN`` escapes
  (the same JSON value, but nothing raw reaches whoever ``cat``s the file).

Front ends also render it as plain text (never as Rich/Textual markup). All are one regex pass:
linear in the text.
"""

from __future__ import annotations

import re

# C0 except \t \n, DEL, C1; bidi embeddings/overrides/isolates and marks; line/paragraph
# separators; lone surrogates (from JSON "\ud800", not encodable as UTF-8).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL = re.compile(f"[{_UNSAFE}]")
_CONTROL_LINE = re.compile(f"[{_UNSAFE}\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Text safe for a terminal or a Markdown file; line breaks and tabs are kept."""
    return _CONTROL.sub(_escape, text)


def one_line(text: str) -> str:
    """Text safe for a terminal, on one line (for names, titles, headings, table cells)."""
    return _CONTROL_LINE.sub(_escape, text)


def json_safe(dumped: str) -> str:
    """A dumped JSON text with every unsafe character as a ``\\uNNNN`` escape.

    ``json.dumps(..., ensure_ascii=False)`` escapes C0 controls only; DEL, C1, bidi controls
    and lone surrogates stay raw. They can only occur inside JSON strings, where an escape is
    the same value.
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def first_line(err: BaseException | str) -> str:
    """The first line of an error (or text), safe for one terminal line: how every front end
    shows an error it cannot do more with. An error with no text shows its type's name."""
    lines = str(err).strip().splitlines()
    if lines:
        return one_line(lines[0].strip())
    return type(err).__name__ if isinstance(err, BaseException) else ""


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and the word in the right number: ``1 reply``, ``2 replies``, ``0 cases``."""
    if n == 1:
        return f"1 {word}"
    if many is None:
        many = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    return f"{n} {many}"


def counts(values: dict, empty: str = "none") -> str:
    """A mapping of counts or settings for a person to read: ``no 6, yes 2`` (not a Python
    dict's repr); ``empty`` when there is nothing."""
    if not values:
        return empty
    return ", ".join(f"{one_line(str(k))} {one_line(str(v))}" for k, v in values.items())
