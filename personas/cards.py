"""Character cards (V1, V2 `chara_card_v2`, V3 `chara_card_v3`) to personas.

Cards come as JSON or embedded in PNG text chunks (`chara` for V1/V2, `ccv3` for V3, both
base64-encoded JSON; V3 wins when both are present). The card's ``system_prompt`` (with
``{{original}}`` standing for our default), description, personality and scenario make the
system prompt; ``{{char}}`` becomes the card's name and ``{{user}}`` the template variable
``{user}``. ``post_history_instructions`` is kept; ``extensions`` and every field we do not
map are preserved under ``extensions``, so nothing in the card is lost.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from pathlib import Path
from typing import Any

from . import budget
from .errors import PersonaError
from .schema import ExampleTurn, Persona

DEFAULT_CARD_PROMPT = "You are {{char}}. Stay in character and reply as {{char}} would."
MAPPED = {
    "name", "description", "personality", "scenario", "first_mes", "mes_example", "system_prompt",
    "post_history_instructions", "tags", "extensions", "creator_notes",
}
CARD_KEY = "improv/card"  # where unmapped card fields are preserved
_USER = "\x00USER\x00"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text_chunks(data: bytes, source: str) -> dict[str, str]:
    """tEXt / zTXt / iTXt chunks of a PNG as {keyword: text}, within `budget.PNG_TEXT_BYTES`
    in all (compressed chunks are inflated only up to what is left of it)."""
    if not data.startswith(PNG_SIGNATURE):
        raise PersonaError(f"{source}: not a PNG file")
    out: dict[str, str] = {}
    left = budget.PNG_TEXT_BYTES
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise PersonaError(f"{source}: truncated PNG chunk {ctype!r}")
        name = ctype.decode("latin-1")
        where = f"{source}: PNG text chunk {name}"
        try:
            if ctype == b"tEXt":
                key, _, text = body.partition(b"\x00")
            elif ctype == b"zTXt":
                key, _, rest = body.partition(b"\x00")
                text = budget.inflate(rest[1:], left, PersonaError, where)
            elif ctype == b"iTXt":
                key, _, rest = body.partition(b"\x00")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\x00")
                _tkey, _, text = rest.partition(b"\x00")
                if compressed:
                    text = budget.inflate(text, left, PersonaError, where)
            else:
                key = None
            if key is not None:
                left -= len(text)
                if left < 0:
                    raise PersonaError(f"{where}: text chunks hold more than {budget.PNG_TEXT_BYTES} bytes; improv refuses it")
                out[key.decode("latin-1")] = text.decode("utf-8" if ctype == b"iTXt" else "latin-1")
        except (UnicodeDecodeError, IndexError) as err:
            raise PersonaError(f"{where}: unreadable: {err}") from None
        if ctype == b"IEND":
            break
        pos += 12 + length
    return out


def card_from_png(data: bytes, source: str) -> dict[str, Any]:
    chunks = png_text_chunks(data, source)
    for key in ("ccv3", "chara"):
        if key in chunks:
            try:
                raw = base64.b64decode(chunks[key], validate=False)
            except (binascii.Error, ValueError) as err:
                raise PersonaError(f"{source}: PNG chunk {key!r} is not base64: {err}") from None
            card = budget.json_loads(raw, PersonaError, f"{source}: PNG chunk {key!r}")
            budget.json_depth_ok(card, PersonaError, f"{source}: PNG chunk {key!r}")
            return card
    raise PersonaError(f"{source}: PNG has no character card (no 'chara' or 'ccv3' text chunk)")


def _text(data: dict[str, Any], key: str, source: str) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise PersonaError(f"{source}: field data.{key}: expected text, found {type(value).__name__}")
    return value


def _macros(text: str, name: str) -> str:
    """Replace card macros; the result is still raw text (not yet a format template)."""
    text = re.sub(r"\{\{char\}\}|<BOT>", lambda _: name, text, flags=re.I)
    return re.sub(r"\{\{user\}\}|<USER>", _USER, text, flags=re.I)


def _template(text: str) -> str:
    """Raw card text -> our ``{variable}`` template: escape braces, then restore ``{user}``."""
    return text.replace("{", "{{").replace("}", "}}").replace(_USER, "{user}")


def _examples(mes_example: str, name: str) -> list[ExampleTurn]:
    turns: list[ExampleTurn] = []
    for line in _macros(mes_example, name).splitlines():
        line = line.strip()
        if not line or line.upper() == "<START>":
            continue
        if line.startswith(_USER + ":"):
            turns.append(ExampleTurn(role="user", content=line[len(_USER) + 1 :].strip()))
        elif line.startswith(name + ":"):
            turns.append(ExampleTurn(role="assistant", content=line[len(name) + 1 :].strip()))
        elif turns:  # a continuation line of the previous turn
            turns[-1] = ExampleTurn(role=turns[-1].role, content=turns[-1].content + "\n" + line)
    return [ExampleTurn(role=t.role, content=t.content.replace(_USER, "User")) for t in turns]


def persona_from_card(card: Any, source: str) -> Persona:
    if not isinstance(card, dict):
        raise PersonaError(f"{source}: a character card is a JSON object, found {type(card).__name__}")
    spec = card.get("spec")
    if spec in ("chara_card_v2", "chara_card_v3"):
        data = card.get("data")
        if not isinstance(data, dict):
            raise PersonaError(f"{source}: field data: expected an object for a {spec} card")
    elif "name" in card and "spec" not in card:
        data, spec = card, "chara_card_v1"
    else:
        raise PersonaError(f"{source}: field spec: unknown card spec {spec!r} (expected chara_card_v2 or chara_card_v3)")

    name = _text(data, "name", source).strip()
    if not name:
        raise PersonaError(f"{source}: field data.name: a character card needs a name")
    description = _text(data, "description", source)
    personality = _text(data, "personality", source)
    scenario = _text(data, "scenario", source)
    card_prompt = _text(data, "system_prompt", source)
    prompt = card_prompt.replace("{{original}}", DEFAULT_CARD_PROMPT) if card_prompt.strip() else DEFAULT_CARD_PROMPT
    parts = [prompt, description]
    if personality.strip():
        parts.append(f"{name}'s personality: {personality}")
    if scenario.strip():
        parts.append(f"Scenario: {scenario}")
    system_prompt = _template(_macros("\n\n".join(p.strip() for p in parts if p.strip()), name))

    greeting = _macros(_text(data, "first_mes", source), name).replace(_USER, "User") or None
    post = _macros(_text(data, "post_history_instructions", source), name).replace(_USER, "User") or None
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise PersonaError(f"{source}: field data.tags: expected a list of strings")
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise PersonaError(f"{source}: field data.extensions: expected an object")
    unmapped = {k: v for k, v in data.items() if k not in MAPPED}
    creator_notes = _text(data, "creator_notes", source)
    return Persona(
        name=name,
        description=(creator_notes.strip().splitlines() or description.strip().splitlines() or [""])[0][:120],
        system_prompt=system_prompt,
        variables={"user": "User"},
        greeting=greeting,
        examples=_examples(_text(data, "mes_example", source), name),
        post_history_instructions=post,
        tags=list(tags),
        extensions={**extensions, CARD_KEY: {"spec": spec, "spec_version": card.get("spec_version"), "fields": unmapped,
                                            "creator_notes": creator_notes, "original_system_prompt": card_prompt}},
    )


def load_card(path: Path, raw: bytes) -> Persona:
    source = str(path)
    if path.suffix.lower() == ".png":
        card = card_from_png(raw, source)
    else:
        card = budget.json_loads(raw, PersonaError, source)
        budget.json_depth_ok(card, PersonaError, source)
    return persona_from_card(card, source)
