"""A generic judge: any configured `Model`, prompts read from ``evaluator/prompts/*.txt``.

Each call is stateless (one user message, temperature 0, one sample). Prompts are plain text
with ``$name`` placeholders (``string.Template``), so model text containing braces is safe. The
judge is asked to answer in ``KEY: value`` lines; `JudgeReply.fields` holds them, and
`Judge.choose` constrains the ``ANSWER`` field to a fixed set of options.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError
from improv.agents.types import GenerateConfig, Message

PROMPTS = Path(__file__).parent / "prompts"
_FIELD = re.compile(r"^\s*\**\s*([A-Z][A-Z0-9_ ]{0,30}?)\s*\**\s*:\s*(.*?)\s*$")


def load_prompt(name: str, directory: Path | None = None) -> str:
    path = (directory or PROMPTS) / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"judge prompt {path}: {err.strerror or err}") from None


def render(name: str, directory: Path | None = None, **values: object) -> str:
    return string.Template(load_prompt(name, directory)).safe_substitute({k: str(v) for k, v in values.items()})


def parse_fields(text: str) -> dict[str, str]:
    """``KEY: value`` lines (keys upper-cased, spaces to underscores); later lines extend QUOTE."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = _FIELD.match(line)
        if m:
            key = m.group(1).strip().replace(" ", "_")
            value = m.group(2).strip()
            if key in out and key == "QUOTE":
                out[key] += "\n" + value
            else:
                out.setdefault(key, value)
    return out


class JudgeReply(BaseModel):
    prompt: str = Field(description="Name of the prompt file used.")
    raw: str
    fields: dict[str, str] = Field(default_factory=dict)
    answer: str | None = Field(None, description="The constrained answer, when options were given and one parsed.")


class Judge:
    """Ask a model constrained questions, statelessly, at temperature 0."""

    def __init__(self, model, *, max_tokens: int = 300, prompts: Path | None = None) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.prompts = prompts

    @property
    def name(self) -> str:
        return self.model.name

    async def ask(self, prompt: str, **values: object) -> JudgeReply:
        text = render(prompt, self.prompts, **values)
        config = GenerateConfig(temperature=0.0, n=1, max_tokens=self.max_tokens)
        completion = await self.model.generate([Message(role="user", content=text)], config)
        raw = completion.text
        return JudgeReply(prompt=prompt, raw=raw, fields=parse_fields(raw))

    async def choose(self, prompt: str, options: list[str], **values: object) -> JudgeReply:
        """Like `ask`, with ``answer`` set to one of ``options`` (case-insensitive) or None."""
        reply = await self.ask(prompt, options=" / ".join(options), **values)
        reply.answer = pick_option(reply.fields.get("ANSWER", ""), options) or pick_option(last_line(reply.raw), options)
        return reply


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def pick_option(text: str, options: list[str]) -> str | None:
    """The option ``text`` names: an exact match, else the first word, else a lone mention."""
    t = text.strip().strip("*.`'\" ").lower()
    by_lower = {o.lower(): o for o in options}
    if t in by_lower:
        return by_lower[t]
    first = re.split(r"[\s,.;:)]+", t, maxsplit=1)[0] if t else ""
    if first in by_lower:
        return by_lower[first]
    hits = [o for o in options if re.search(rf"\b{re.escape(o.lower())}\b", t)]
    return hits[0] if len(hits) == 1 else None
