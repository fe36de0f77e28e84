"""Model text is data: make it safe to show in a terminal.

`printable` replaces terminal control characters (ESC, BEL, backspace, C1 controls, ...) with
visible escapes, so a reply cannot move the cursor, recolour the screen or retitle the window.
Front ends also render it as plain text (never as Rich/Textual markup).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
