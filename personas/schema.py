"""The persona: who the agent plays. A system prompt template plus metadata."""

from __future__ import annotations

import string
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import MissingVariable, PersonaError


class ExampleTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern="^(user|assistant)$")
    content: str


class Persona(BaseModel):
    """A persona as stored in YAML (or imported from a character card).

    ``system_prompt`` may hold ``{variables}``; `render` fills them from ``variables``
    (defaults) overlaid with the caller's values. Literal braces are written ``{{`` ``}}``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Short identifier, e.g. 'trickster'.")
    description: str = Field("", description="One line for lists.")
    system_prompt: str = Field("", description="System prompt template with {variables}.")
    variables: dict[str, str] = Field(default_factory=dict, description="Default values for template variables.")
    greeting: str | None = Field(None, description="First assistant message shown in a new chat.")
    examples: list[ExampleTurn] = Field(default_factory=list, description="Example dialogue put before the conversation.")
    post_history_instructions: str | None = Field(None, description="System text placed after the history (character cards).")
    generation: dict[str, Any] = Field(default_factory=dict, description="Default GenerateConfig fields, e.g. temperature.")
    tags: list[str] = Field(default_factory=list)
    extensions: dict[str, Any] = Field(default_factory=dict, description="Unknown card fields, kept as they were.")

    def template_variables(self) -> list[str]:
        try:
            return [f for _, f, _, _ in string.Formatter().parse(self.system_prompt) if f]
        except ValueError as err:
            raise PersonaError(f"persona {self.name!r}: system_prompt: {err}") from None

    def render(self, **values: str) -> str:
        """The system prompt with its variables filled; a missing variable is an error."""
        merged = {**self.variables, **{k: v for k, v in values.items() if v is not None}}
        missing = [v for v in self.template_variables() if v not in merged]
        if missing:
            raise MissingVariable(self.name, missing[0])
        try:
            return self.system_prompt.format(**merged)
        except (KeyError, IndexError, AttributeError, ValueError, TypeError) as err:
            raise PersonaError(f"persona {self.name!r}: system_prompt: cannot fill template: {err!r}") from None
