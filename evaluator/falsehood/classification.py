"""A classification: one agent reply of a transcript, the settings it is classified with, and
its verdict, computed once.

The object `improv classify` and the TUI's classify screen both drive: a front end picks the
reply (`agent_replies` lists the candidates, numbered the same way in both), builds the model
from its run spec, runs it, and renders the `Verdict` it returns. The evidence-gathering itself
is `classify.aclassify`; this object holds what a run is about and keeps its result.

Replies are numbered over the model's replies on the active branch: a persona's greeting is an
assistant turn, but no model wrote it, so it is neither listed nor classifiable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from improv.agents.errors import SettingError

if TYPE_CHECKING:
    from improv.transcripts.schema import Transcript, Turn

    from .classify import Verdict


class ClassifySettings(BaseModel):
    """How a reply is classified (every field a front end may set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(10, ge=1, description="in-context resamples of the turn")
    samples: int = Field(10, ge=10, description="neutral samples per round (at least 10)")
    seed: int | None = Field(None, description="sampling seed, where the backend takes one")
    temperature: float = Field(1.0, ge=0, description="temperature of the neutral samples (reported)")
    exact: bool = Field(True, description="read the neutral belief from the model's likelihoods where it scores")
    probe: bool = Field(False, description="white-box truth probe on hidden states (in-process models)")


def is_greeting(turn: "Turn") -> bool:
    return bool(turn.meta.get("greeting"))


def agent_replies(transcript: "Transcript") -> list["Turn"]:
    """The model's replies on the active branch, in order (reply N is the N-th of these)."""
    return [t for t in transcript.path() if t.role == "assistant" and not is_greeting(t)]


def find_reply(transcript: "Transcript", turn: str | int) -> "Turn":
    """A turn id, or N: the N-th model reply on the active branch (1-based, greeting excluded).
    The id is looked up first (ids are hex digits, and a few have no letter)."""
    text = str(turn).strip()
    by_id = next((t for t in transcript.turns if t.id == text), None)
    if by_id is None:
        if not text.isdigit():
            raise SettingError("turn", f"no such turn in transcript {transcript.id}", text)
        replies = agent_replies(transcript)
        i = int(text)
        if not 1 <= i <= len(replies):
            raise SettingError("turn", f"the active branch has {len(replies)} model replies", str(i))
        return replies[i - 1]
    if by_id.role != "assistant":
        raise SettingError("turn", f"turn is a {by_id.role} turn, not an agent reply", text)
    if is_greeting(by_id):
        raise SettingError("turn", "that turn is the persona's greeting, which no model wrote", text)
    return by_id


class Classification:
    """One reply to classify (typed fields) and its verdict (None until `run`, then kept)."""

    def __init__(self, transcript: "Transcript", turn: str | int, *, claim: str | None = None,
                 truth: str | None = None, settings: ClassifySettings | None = None,
                 source: Path | None = None) -> None:
        self.transcript = transcript
        self.source = source  # the file it was loaded from, if any
        self.reply: "Turn" = find_reply(transcript, turn)
        self.claim = (claim or "").strip() or None  # None: the whole reply
        self.truth = (truth or "").strip() or None
        self.settings = settings or ClassifySettings()
        self.verdict: "Verdict | None" = None

    @classmethod
    def load(cls, ref: str | Path, turn: str | int, **kwargs) -> "Classification":
        """A classification of reply ``turn`` of the transcript ``ref`` (a file or an id)."""
        from improv.transcripts.store import load, resolve

        path = resolve(str(ref))
        return cls(load(path), turn, source=path, **kwargs)

    @property
    def number(self) -> int:
        """The reply's number among the model's replies on the active branch (1-based)."""
        return [t.id for t in agent_replies(self.transcript)].index(self.reply.id) + 1

    async def run(self, model, judge=None) -> "Verdict":
        """Gather the evidence and decide, once: a second call returns the same verdict.
        ``model`` is the `Model` to sample (built by the front end), ``judge`` an optional one."""
        if self.verdict is None:
            from .classify import aclassify

            s = self.settings
            self.verdict = await aclassify(
                self.transcript, self.reply.id, self.claim, self.truth, model, judge, s.k, s.samples,
                seed=s.seed, probe=True if s.probe else None, temperature=s.temperature, exact=s.exact,
            )
        return self.verdict
