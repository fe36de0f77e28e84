"""The conversation view: one bubble per turn on the branch in view.

Model and user text is data: it goes through `printable` (names and labels through `one_line`)
into a `rich.text.Text`, so neither
Rich markup (``[bold]``) nor terminal control sequences (``ESC[2J``) are ever interpreted.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from improv.agents.text import one_line, printable


def label_for(role: str, *, model: str | None = None, persona: str | None = None, greeting: bool = False) -> str:
    if role == "user":
        return "you"
    who = persona or "assistant"
    if greeting:
        return f"{who} · greeting"
    return f"{who} · {model}" if model else who


class MessageBubble(Static, can_focus=True):
    """One turn. Focus a reply (click or tab) to regenerate it or step between its branches."""

    def __init__(
        self,
        turn_id: str | None,
        role: str,
        content: str = "",
        *,
        label: str = "",
        branch: tuple[int, int] | None = None,
        status: str = "",
    ) -> None:
        super().__init__("", markup=False, classes=f"bubble {role}")
        self.turn_id = turn_id
        self.role = role
        self.body = content
        self.heading = label
        self.branch = branch
        self.note = status
        self.refresh_text()

    def render_text(self) -> Text:
        text = Text()
        text.append(one_line(self.heading or self.role), style="bold")  # a persona or model name: one line
        if self.branch and self.branch[1] > 1:
            text.append(f"  ‹ {self.branch[0]}/{self.branch[1]} ›", style="bold")
        if self.note:
            text.append(f"  ({self.note})", style="italic")
        text.append("\n")
        text.append(printable(self.body))
        return text

    def refresh_text(self) -> None:
        self.update(self.render_text())

    def append(self, delta: str) -> None:
        self.body += delta
        self.refresh_text()

    def set_status(self, status: str) -> None:
        self.note = status
        self.refresh_text()


class ConversationView(VerticalScroll):
    """The bubbles of the branch in view, newest at the bottom (kept pinned while streaming)."""

    def on_mount(self) -> None:
        self.anchor()

    def bubbles(self) -> list[MessageBubble]:
        return list(self.query(MessageBubble))

    def bubble_for(self, turn_id: str) -> MessageBubble | None:
        for b in self.bubbles():
            if b.turn_id == turn_id:
                return b
        return None

    async def show(self, bubbles: list[MessageBubble]) -> None:
        await self.remove_children()
        if bubbles:
            await self.mount_all(bubbles)
        self.scroll_end(animate=False)

    async def add(self, bubble: MessageBubble) -> MessageBubble:
        await self.mount(bubble)
        self.scroll_end(animate=False)
        return bubble

    def texts(self) -> list[str]:
        """Plain text of every bubble (label line and content), for tests and copying."""
        return [b.render_text().plain for b in self.bubbles()]
