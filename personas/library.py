"""The built-in persona library (`personas/library/*.yaml`) and name-or-path lookup."""

from __future__ import annotations

from pathlib import Path

from .errors import PersonaError
from .schema import Persona

LIBRARY_DIR = Path(__file__).parent / "library"


def builtin_personas() -> dict[str, Persona]:
    from .loader import load_persona

    return {p.name: p for p in (load_persona(f) for f in sorted(LIBRARY_DIR.glob("*.yaml")))}


def get_persona(name_or_path: str) -> Persona:
    """A built-in persona by name, or a persona file (YAML, card JSON or PNG) by path."""
    from .loader import load_persona

    path = Path(name_or_path)
    if path.suffix.lower() in {".yaml", ".yml", ".json", ".png"} or path.exists():
        return load_persona(path)
    library = builtin_personas()
    if name_or_path in library:
        return library[name_or_path]
    raise PersonaError(f"unknown persona {name_or_path!r}; built-in personas: {', '.join(sorted(library))}")
