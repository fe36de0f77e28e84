"""`Agent`: a model playing a persona with a generation config.

It turns a conversation history into the messages a backend sees (system prompt, example
dialogue, history, post-history instructions) and asks the model for a reply.
"""

from __future__ import annotations

from collections.abc import Sequence

from improv.personas.schema import Persona

from .errors import ConfigError
from .model import Model
from .types import Completion, GenerateConfig, Message


def persona_config(persona: Persona | None) -> GenerateConfig:
    """The persona's ``generation`` defaults as a config; a bad field is a `ConfigError` naming it
    (the persona schema cannot check them itself: `personas` does not import `agents`)."""
    if persona is None or not persona.generation:
        return GenerateConfig()
    from pydantic import ValidationError

    try:
        return GenerateConfig.model_validate(persona.generation)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"persona {persona.name!r}: field generation.{field}: {first['msg']}") from None


class Agent:
    def __init__(
        self,
        model: Model,
        persona: Persona | None = None,
        config: GenerateConfig | None = None,
        variables: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.persona = persona
        self.variables = dict(variables or {})
        self.config = persona_config(persona).merged(config)

    @property
    def system_prompt(self) -> str | None:
        if self.persona is None or not self.persona.system_prompt:
            return None
        return self.persona.render(**self.variables)

    def messages(self, history: Sequence[Message]) -> list[Message]:
        """What the backend sees for a reply after ``history`` (user/assistant turns)."""
        out: list[Message] = []
        system = self.system_prompt
        if system:
            out.append(Message(role="system", content=system))
        if self.persona is not None:
            out.extend(Message(role=e.role, content=e.content) for e in self.persona.examples)  # type: ignore[arg-type]
        out.extend(m for m in history if m.role != "system")
        if self.persona is not None and self.persona.post_history_instructions:
            out.append(Message(role="system", content=self.persona.post_history_instructions))
        return out

    async def respond(self, history: Sequence[Message], config: GenerateConfig | None = None) -> Completion:
        return await self.model.generate(self.messages(history), self.config.merged(config))

    def stream(self, history: Sequence[Message], config: GenerateConfig | None = None):
        """The reply's text deltas, as an `agents.model.TextStream` (``finish_reason`` after)."""
        return self.model.stream(self.messages(history), self.config.merged(config))
