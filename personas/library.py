"""Persona lookup: the built-in library (`personas/library/*.yaml`), the user's imported
personas (`$IMPROV_DATA_DIR/personas` or the user data dir), or a file path."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import AlreadyImported, PersonaError
from .schema import Persona
from .storage import atomic_write, data_dir

LIBRARY_DIR = Path(__file__).parent / "library"
FILE_SUFFIXES = {".yaml", ".yml", ".json", ".png"}


def user_dir() -> Path:
    """``<data dir>/personas``: the imported personas."""
    return data_dir() / "personas"


def builtin_personas() -> dict[str, Persona]:
    from .loader import load_persona

    return {p.name: p for p in (load_persona(f) for f in sorted(LIBRARY_DIR.glob("*.yaml")))}


def user_personas(problems: list[str] | None = None) -> dict[str, Persona]:
    """The imported personas. A file that cannot be loaded is left out, its one-line reason
    appended to ``problems`` when given: one broken file must not hide every other persona."""
    from .loader import load_persona

    d = user_dir()
    out: dict[str, Persona] = {}
    for f in sorted(d.glob("*.yaml")) if d.is_dir() else []:
        try:
            p = load_persona(f)
        except PersonaError as err:
            if problems is not None:
                problems.append(str(err).splitlines()[0] if str(err) else f"{f}: unreadable")
            continue
        out[p.name] = p
    return out


def all_personas() -> dict[str, Persona]:
    """Built-in personas, then the user's (a user persona with the same name wins)."""
    return {**builtin_personas(), **user_personas()}


def get_persona(name_or_path: str) -> Persona:
    """A persona by name (user's, then built-in) or a persona file (YAML, card JSON or PNG) by path."""
    from .loader import load_persona

    path = Path(name_or_path)
    if path.suffix.lower() in FILE_SUFFIXES or os.sep in name_or_path or path.exists():
        return load_persona(path)
    library = all_personas()
    if name_or_path in library:
        return library[name_or_path]
    raise PersonaError(f"unknown persona {name_or_path!r}; known personas: {', '.join(sorted(library))}")


def import_persona(path: Path | str, directory: Path | None = None, *, overwrite: bool = False) -> tuple[Persona, Path]:
    """Load a persona file or card and save it as YAML among the user's personas."""
    import re

    from .loader import dump_persona, load_persona

    persona = load_persona(path)
    target_dir = directory or user_dir()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", persona.name).strip("-.") or "persona"
    target = target_dir / f"{slug}.yaml"
    if target.exists() and not overwrite:
        raise AlreadyImported(target)
    atomic_write(target, dump_persona(persona))
    return persona, target
