"""Load a persona file. YAML errors name the file, field and line."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from .errors import PersonaError
from .schema import Persona


def load_persona(path: Path | str) -> Persona:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PersonaError(f"{path}: cannot read persona: {getattr(err, 'strerror', None) or err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise PersonaError(f"{path}{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    if not isinstance(data, dict):
        raise PersonaError(f"{path}: a persona is a mapping of fields, found {type(data).__name__}")
    try:
        return Persona.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise PersonaError(f"{path}: field {field}: {first['msg']}") from None
