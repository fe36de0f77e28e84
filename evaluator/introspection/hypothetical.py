"""Hypothetical (meta-level) prompts and strict parsing of their answers.

The prompt is one fresh user turn: the template in ``templates.yaml`` with the object-level prompt
quoted verbatim and the property's question and answer format. An answer that does not parse as
the stated format is *non-compliant* (``None``); it is never guessed, and it counts as wrong.
"""

from __future__ import annotations

import math

from improv.agents.types import Choice

from .properties import Property, clean, load_templates

_QUOTES = "\"'`“”‘’«»"


def question_text(prop: Property, templates: dict[str, str]) -> str:
    return prop.question or templates["default_question"].format(phrase=prop.phrase)


def hypothetical_prompt(prompt: str, prop: Property, templates: dict[str, str] | None = None) -> str:
    t = templates or load_templates()
    # str.replace, not str.format: the object prompt may contain braces
    return (
        t["hypothetical"]
        .replace("{question}", question_text(prop, t))
        .replace("{format}", prop.format)
        .replace("{prompt}", prompt)
    )


def parse_answer(text: str, prop: Property) -> str | None:
    """The predicted property value, or None when the answer is not in the allowed format."""
    raw = text.strip()
    # one layer of surrounding quotes and a trailing full stop are formatting, not content
    raw = raw.rstrip(".").strip()
    if len(raw) >= 2 and raw[0] in _QUOTES and raw[-1] in _QUOTES:
        raw = raw[1:-1].strip()
    if prop.answer == "char":
        c = raw.lower()
        # a single character; a space in a cleaned answer is spelled out as "space"
        if c == "space":
            return " "
        return c if len(c) == 1 and not c.isspace() else None
    c = clean(raw)
    if prop.answer == "word":
        return c if c and " " not in c else None
    if prop.answer == "bool":
        return c if c in ("true", "false") else None
    labels = [label.lower() for label in prop.labels or []]
    return c if c in labels else None


def first_token_distribution(choice: Choice, prop: Property) -> tuple[dict[str, float], float] | None:
    """The distribution over property values read from the top logprobs of the first answer
    token that is not just whitespace, and the probability mass it covers.

    Only valid for answers that fit in one token (characters, true/false, short labels), so
    word answers return None. Alternatives that do not parse are dropped; the rest are
    renormalised. None when the choice has no logprobs or nothing parses.
    """
    if prop.answer == "word" or not choice.logprobs:
        return None
    entry = next((e for e in choice.logprobs if e.token.strip() and e.token.strip() not in _QUOTES), None)
    if entry is None:
        return None
    alternatives = entry.top_logprobs or []
    if not alternatives:
        return None
    dist: dict[str, float] = {}
    for alt in alternatives:
        value = parse_answer(alt.token, prop)
        if value is None and prop.answer == "label":
            # labels may be split into several tokens: accept a unique label prefix
            tok = clean(alt.token)
            matches = [lab for lab in prop.labels or [] if tok and lab.lower().startswith(tok)]
            value = matches[0].lower() if len(matches) == 1 else None
        if value is not None:
            dist[value] = dist.get(value, 0.0) + math.exp(alt.logprob)
    return normalised(dist)


def normalised(dist: dict[str, float]) -> tuple[dict[str, float], float] | None:
    """``dist`` renormalised to sum to 1, and the mass it had; None when it had none."""
    mass = sum(dist.values())
    if mass <= 0:
        return None
    return {k: v / mass for k, v in dist.items()}, mass
