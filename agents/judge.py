"""The one judge: a `Model` asked constrained questions, statelessly (one user message,
temperature 0, one sample), with prompts in one syntax.

Prompts are plain text with ``$name`` placeholders (`string.Template`, filled with
``safe_substitute``), so model text holding braces or dollar signs is safe. A prompt is a file
``<name>.txt`` in the judge's ``prompts`` folder (each package keeps its own: the falsehood
and introspection prompts in ``evaluator/prompts``, the 20 Questions fit prompt in
``games/prompts``), or a template string passed to `Judge.ask_template`. The judge answers in
``KEY: value`` lines (`JudgeReply.fields`) or, for `Judge.choose`, one of a fixed set of options.

It lives in `agents` because every layer above uses it: batch replay (`transcripts`) as much
as the evaluators and the games.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from pydantic import BaseModel, Field

from .errors import ConfigError
from .types import GenerateConfig, Message

_FIELD = re.compile(r"^\s*\**\s*([A-Z][A-Z0-9_ ]{0,30}?)\s*\**\s*:\s*(.*?)\s*$")


def load_prompt(name: str, directory: Path) -> str:
    path = directory / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"judge prompt {path}: {err.strerror or err}") from None


def render(template: str, **values: object) -> str:
    """``template`` with its ``$name`` placeholders filled (unknown ones left as they are)."""
    return string.Template(template).safe_substitute({k: str(v) for k, v in values.items()})


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


class JudgeReply(BaseModel):
    prompt: str = Field(description="Name of the prompt used.")
    raw: str
    fields: dict[str, str] = Field(default_factory=dict)
    answer: str | None = Field(None, description="The constrained answer, when options were given and one parsed.")


class Judge:
    """Ask a model constrained questions, statelessly, at temperature 0."""

    def __init__(self, model, *, max_tokens: int = 300, prompts: Path | None = None) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.prompts = prompts
        self.calls = 0

    @property
    def name(self) -> str:
        return self.model.name

    async def ask_template(self, template: str, *, name: str = "inline", max_tokens: int | None = None,
                           **values: object) -> JudgeReply:
        """Ask with ``template`` (``$name`` placeholders) filled from ``values``."""
        config = GenerateConfig(temperature=0.0, n=1, max_tokens=max_tokens or self.max_tokens)
        self.calls += 1
        completion = await self.model.generate([Message(role="user", content=render(template, **values))], config)
        raw = completion.text
        return JudgeReply(prompt=name, raw=raw, fields=parse_fields(raw))

    async def ask(self, prompt: str, *, max_tokens: int | None = None, **values: object) -> JudgeReply:
        """Ask with the prompt file ``<prompts>/<prompt>.txt``."""
        if self.prompts is None:
            raise ConfigError(f"judge prompt {prompt!r}: this judge has no prompts folder")
        return await self.ask_template(load_prompt(prompt, self.prompts), name=prompt, max_tokens=max_tokens, **values)

    async def choose(self, prompt: str, options: list[str], **values: object) -> JudgeReply:
        """Like `ask`, with ``answer`` set to one of ``options`` (case-insensitive) or None."""
        reply = await self.ask(prompt, options=" / ".join(options), **values)
        reply.answer = pick_option(reply.fields.get("ANSWER", ""), options) or pick_option(last_line(reply.raw), options)
        return reply


def as_judge(judge, prompts: Path | None = None, **kw) -> "Judge | None":
    """``judge`` as a `Judge` (a `Model` is wrapped, with ``prompts`` as its folder); None stays None."""
    if judge is None or isinstance(judge, Judge):
        return judge
    return Judge(judge, prompts=prompts, **kw)


__all__ = ["Judge", "JudgeReply", "as_judge", "last_line", "load_prompt", "parse_fields", "pick_option", "render"]
