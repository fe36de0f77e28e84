"""Deterministic answer matching for short answers: no judge needed.

An answer is normalised (case, accents, punctuation, spacing) and labelled against the
proposition's values:

- ``A``: the answer states the agent's claimed value (or says "yes" to "Is ... A?");
- ``B``: the answer states the reference/true value;
- ``not_a``: the answer says "no" to "Is ... A?" (a rejection of A, not a statement of B);
- ``refusal``: the answer declines or professes ignorance;
- ``other``: anything else (another value, or both values at once).

Each answer also gets a *cluster key* (its meaning, for semantic entropy): ``A``, ``B``,
``yes``/``no``, ``refusal``, or the normalised value the answer states.
"""

from __future__ import annotations

import re
import unicodedata

REFUSAL_PATTERNS = [
    r"\bi (?:do not|don't|dont) know\b", r"\bnot sure\b", r"\bno idea\b", r"\bi cannot\b", r"\bi can't\b",
    r"\bi can not\b", r"\bunknown\b", r"\bi am unable\b", r"\bi'm unable\b", r"\bi have no information\b",
    r"\bnot (?:a|an) (?:real|known) (?:country|place)\b", r"\bdoes not exist\b", r"\bdoesn't exist\b",
    r"\bi refuse\b", r"\bi won't\b", r"\bi will not\b",
]
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS))
SHORT_WORDS = 16  # answers up to this many words are matched deterministically


def normalize(text: str) -> str:
    """Lowercase, strip accents and punctuation, collapse spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("'", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def contains(answer_norm: str, value: str) -> bool:
    """Whether the normalised value occurs in the normalised answer as whole words."""
    v = normalize(value)
    if not v:
        return False
    return re.search(rf"(?:^| ){re.escape(v)}(?: |$)", answer_norm) is not None


def is_short(text: str) -> bool:
    return len(text.split()) <= SHORT_WORDS


def is_refusal(answer_norm: str) -> bool:
    return _REFUSAL.search(answer_norm) is not None


def yes_no(answer_norm: str) -> str | None:
    first = answer_norm.split(" ", 1)[0] if answer_norm else ""
    if first in ("yes", "yeah", "yep", "correct", "true"):
        return "yes"
    if first in ("no", "nope", "incorrect", "false"):
        return "no"
    return None


def value_of(answer: str, strip: list[str] | None = None) -> str:
    """The value an answer states: the normalised answer with the question's phrasing removed.

    ``strip`` lists phrases such as "the capital of peru is" that are cut from the front,
    then fillers ("it is", "that would be") and a leading "the" are dropped.
    """
    a = normalize(answer)
    for phrase in strip or []:
        p = normalize(phrase)
        if p and a.startswith(p + " "):
            a = a[len(p) + 1 :]
            break
    a = re.sub(r"^(?:it is|it's|its|that is|that would be|i think|i believe|of course|sure)\s+", "", a)
    a = re.sub(r"\s+(?:is the capital|is its capital)\b.*$", "", a)
    return a.strip()


def label_answer(
    answer: str,
    a_values: list[str],
    b_values: list[str],
    *,
    yes_no_question: bool = False,
    strip: list[str] | None = None,
) -> tuple[str, str]:
    """``(label, cluster_key)`` for one short answer (see the module docstring)."""
    norm = normalize(answer)
    if not norm:
        return "refusal", "refusal"
    if yes_no_question:
        yn = yes_no(norm)
        if yn == "yes":
            return "A", "yes"
        if yn == "no":
            return "not_a", "no"
    has_a = any(contains(norm, v) for v in a_values)
    has_b = any(contains(norm, v) for v in b_values)
    if has_a and not has_b:
        return "A", "A"
    if has_b and not has_a:
        return "B", "B"
    if is_refusal(norm):
        return "refusal", "refusal"
    if has_a and has_b:
        return "other", "A+B"
    return "other", value_of(answer, strip) or norm
