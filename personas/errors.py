"""The one error persona loading raises: it names the file, field and (for YAML) line."""


class PersonaError(ValueError):
    exit_code = 2
