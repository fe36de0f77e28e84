"""Personas: the schema, loaders (YAML, character cards V1/V2/V3 from JSON or PNG) and the library.

- `Persona` (schema), `PersonaError` (the one error loaders raise);
- `load_persona(path)`, `get_persona(name_or_path)`, `builtin_personas()`, `all_personas()`,
  `import_persona(path)`, `dump_persona(persona)`.

Names resolve lazily (PEP 562) so `personas.errors` imports without pydantic or YAML.
"""

from .lazy import lazy_exports

_EXPORTS = {
    "PersonaError": "errors", "ExampleTurn": "schema", "Persona": "schema",
    "all_personas": "library", "builtin_personas": "library", "get_persona": "library",
    "import_persona": "library", "user_dir": "library", "dump_persona": "loader", "load_persona": "loader",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
