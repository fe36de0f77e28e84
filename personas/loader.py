"""Load a persona file: YAML, or a character card as JSON or PNG.

Every failure is a `PersonaError` naming the file, the field and, for YAML, the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import budget
from .errors import PersonaError
from .schema import Persona


def _yaml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the YAML node at ``loc`` (a pydantic error location), if found."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def validation_error(source: str, err: ValidationError, text: str | None = None) -> PersonaError:
    first = err.errors()[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    line = _yaml_line(text, loc) if text is not None else None
    where = f"{source}, line {line}" if line else source
    return PersonaError(f"{where}: field {field}: {first['msg']}")


def persona_from_yaml(text: str, source: str) -> Persona:
    try:
        data = budget.yaml_safe_load(text, PersonaError, source)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise PersonaError(f"{source}{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    except PersonaError:
        raise
    except (RecursionError, ValueError, TypeError) as err:
        raise PersonaError(f"{source}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise PersonaError(f"{source}: a persona is a mapping of fields, found {type(data).__name__}")
    try:
        persona = Persona.model_validate(data)
    except ValidationError as err:
        raise validation_error(source, err, text) from None
    persona.template_variables()  # a broken {template} is reported now, not at chat time
    return persona


def load_persona(path: Path | str) -> Persona:
    path = Path(path)
    suffix = path.suffix.lower()
    limit = budget.PNG_BYTES if suffix == ".png" else budget.PERSONA_BYTES
    raw = budget.read_capped(path, limit, PersonaError, "persona")
    if suffix in (".json", ".png"):
        from .cards import load_card

        try:
            return load_card(path, raw)
        except ValidationError as err:
            raise validation_error(str(path), err) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PersonaError(f"{path}: not UTF-8 text") from None
    return persona_from_yaml(text, str(path))


def dump_persona(persona: Persona) -> str:
    """The persona as YAML (what `improv personas import` writes)."""
    data = persona.model_dump(mode="json", exclude_defaults=True)
    data = {"name": persona.name, **data}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
