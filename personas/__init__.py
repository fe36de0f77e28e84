"""Personas: the schema, loaders (YAML, character cards V2/V3 from JSON or PNG) and the built-in library.

- `Persona` (schema), `PersonaError` (the one error loaders raise);
- `load_persona(path)`, `get_persona(name_or_path)`, `builtin_personas()`.
"""

from .errors import PersonaError
from .library import builtin_personas, get_persona
from .loader import load_persona
from .schema import ExampleTurn, Persona

__all__ = ["ExampleTurn", "Persona", "PersonaError", "builtin_personas", "get_persona", "load_persona"]
