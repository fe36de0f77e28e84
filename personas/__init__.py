"""Personas: the schema, loaders (YAML, character cards V1/V2/V3 from JSON or PNG) and the library.

- `Persona` (schema), `PersonaError` (the one error loaders raise);
- `load_persona(path)`, `get_persona(name_or_path)`, `builtin_personas()`, `all_personas()`,
  `import_persona(path)`, `dump_persona(persona)`.
"""

from .errors import PersonaError
from .library import all_personas, builtin_personas, get_persona, import_persona, user_dir
from .loader import dump_persona, load_persona
from .schema import ExampleTurn, Persona

__all__ = [
    "ExampleTurn", "Persona", "PersonaError", "all_personas", "builtin_personas", "dump_persona", "get_persona",
    "import_persona", "load_persona", "user_dir",
]
