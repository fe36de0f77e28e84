"""The one error persona loading raises: it names the file, field and (for YAML) line."""


class PersonaError(ValueError):
    exit_code = 2


class MissingVariable(PersonaError):
    """A persona's system prompt names a template variable that has no value."""

    def __init__(self, persona: str, variable: str) -> None:
        super().__init__(f"persona {persona!r} needs a value for {{{variable}}}")
        self.persona = persona
        self.variable = variable


class AlreadyImported(PersonaError):
    """An imported persona of the same name exists; replacing it must be asked for."""

    def __init__(self, target) -> None:
        super().__init__(f"{target}: a persona with this name is already imported")
        self.target = target
