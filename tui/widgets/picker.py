"""Model and persona picker: a model-string field, a persona Select and a template-variables field."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Select

from improv.tui.widgets.data import line
from improv.tui.widgets.field import Field

NO_PERSONA = ""


def persona_options(current: str | None) -> list[tuple[Text, str]]:
    """(label, value) for every known persona (built-in, then the user's), plus ``current`` if it
    is a path or an unknown name, so a persona file given on the command line is selectable."""
    from improv.personas import all_personas, builtin_personas  # type: ignore[attr-defined]
    from improv.personas.errors import PersonaError

    try:
        names = sorted(all_personas())
    except PersonaError:  # a broken user persona must not hide the built-in ones
        names = sorted(builtin_personas())
    options = [(Text("no persona"), NO_PERSONA)] + [(line(n), n) for n in names]
    if current and current not in names:
        options.append((line(current), current))
    return options


class Picker(Horizontal):
    def __init__(self, model: str | None, persona: str | None, variables: dict[str, str] | None = None) -> None:
        super().__init__(id="picker")
        from improv.agents.spec import default_model

        self._model = model or default_model()
        self._persona = persona or NO_PERSONA
        self._variables = variables or {}

    def compose(self) -> ComposeResult:
        yield Field(self._model, placeholder="provider/model", id="model", tooltip="model string; enter to apply")
        yield Select(
            persona_options(self._persona or None),
            value=self._persona,
            allow_blank=False,
            id="persona",
            type_to_search=True,
        )
        yield Field(
            ", ".join(f"{k}={v}" for k, v in self._variables.items()),
            placeholder="vars: name=value, ...",
            id="vars",
            tooltip="persona template variables, e.g. secret=cat; enter to apply",
        )

