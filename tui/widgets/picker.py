"""Model and persona picker: a model-string Input, a persona Select and a template-variables Input."""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Select

NO_PERSONA = ""


def default_model(model: str | None) -> str:
    from improv.agents.registry import DEFAULT_MODEL

    return model or os.environ.get("IMPROV_MODEL") or DEFAULT_MODEL


def persona_options(current: str | None) -> list[tuple[Text, str]]:
    """(label, value) for every known persona (built-in, then the user's), plus ``current`` if it
    is a path or an unknown name, so a persona file given on the command line is selectable."""
    from improv.personas import all_personas, builtin_personas  # type: ignore[attr-defined]
    from improv.personas.errors import PersonaError

    try:
        names = sorted(all_personas())
    except PersonaError:  # a broken user persona must not hide the built-in ones
        names = sorted(builtin_personas())
    options = [(Text("no persona"), NO_PERSONA)] + [(Text(n), n) for n in names]
    if current and current not in names:
        options.append((Text(current), current))
    return options


class Picker(Horizontal):
    def __init__(self, model: str | None, persona: str | None, variables: dict[str, str] | None = None) -> None:
        super().__init__(id="picker")
        self._model = default_model(model)
        self._persona = persona or NO_PERSONA
        self._variables = variables or {}

    def compose(self) -> ComposeResult:
        yield Input(self._model, placeholder="provider/model", id="model", tooltip="model string; enter to apply")
        yield Select(
            persona_options(self._persona or None),
            value=self._persona,
            allow_blank=False,
            id="persona",
            type_to_search=True,
        )
        yield Input(
            ", ".join(f"{k}={v}" for k, v in self._variables.items()),
            placeholder="vars: name=value, ...",
            id="vars",
            tooltip="persona template variables, e.g. secret=cat; enter to apply",
        )


def parse_vars(text: str) -> dict[str, str]:
    """``"a=1, b=two"`` -> ``{"a": "1", "b": "two"}``; raises ValueError naming the bad part."""
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"vars: {part!r} is not NAME=VALUE")
        out[name.strip()] = value.strip()
    return out
