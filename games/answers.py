"""Strict parsing of 20 Questions answers and reveals.

An answer is mapped to one label of a configurable `LabelSet` (default yes / no / unsure) by
its *leading* words, or to ``invalid``: never guessed. "Yes." and "No, it is not." parse;
"It was a cat.", "Yes and no" and "" are ``invalid``.

Where the backend returned token logprobs, `p_yes` reads P(yes) off the first generated token:
the mass of yes-like tokens over the mass of yes-like plus no-like tokens among that token's
top alternatives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from agents.types import TokenLogprob

INVALID = "invalid"

_WORD = re.compile(r"[a-z0-9']+")


class LabelSet(BaseModel):
    """Labels and the leading words/phrases that select each one (lower case)."""

    labels: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "yes": ["yes", "yeah", "yep", "yup", "correct", "true", "right"],
            "no": ["no", "nope", "nah", "false", "incorrect", "wrong"],
            "unsure": ["maybe", "unsure", "sometimes", "dunno", "i don't know", "i do not know",
                       "not sure", "i'm not sure", "it depends", "depends", "partly", "skip"],
        }
    )

    def names(self) -> list[str]:
        return [*self.labels, INVALID]

    @classmethod
    def binary(cls) -> "LabelSet":
        """Yes / no only: everything else is invalid (Kaggle-style strictness)."""
        full = cls()
        return cls(labels={"yes": full.labels["yes"], "no": full.labels["no"]})


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def parse_answer(text: str, labels: LabelSet | None = None) -> str:
    """The label whose phrase the answer starts with, or ``invalid``.

    The first sentence must not also contain a word of another label ("Yes and no",
    "Yes, well, maybe"): such answers are ``invalid`` rather than a guess.
    """
    labels = labels or LabelSet()
    first_sentence = re.split(r"[.!?;\n]", text.strip(), maxsplit=1)[0]
    words = _words(first_sentence)
    if not words:
        return INVALID
    matches: list[tuple[int, str]] = []
    for label, phrases in labels.labels.items():
        for phrase in phrases:
            pw = _words(phrase)
            if pw and words[: len(pw)] == pw:
                matches.append((len(pw), label))
    if not matches:
        return INVALID
    matches.sort(reverse=True)
    label = matches[0][1]
    rest = words[matches[0][0]:]
    for other, phrases in labels.labels.items():
        if other == label:
            continue
        for phrase in phrases:
            pw = _words(phrase)
            if len(pw) == 1 and pw[0] in rest:
                return INVALID
    return label


def _token_word(token: str) -> str:
    return "".join(_WORD.findall(token.lower()))


def p_yes(logprobs: Sequence[TokenLogprob] | None, labels: LabelSet | None = None) -> float | None:
    """P(yes) from the first token's top logprobs, normalised over yes/no variants.

    None when there are no logprobs or neither a yes-like nor a no-like token is among them.
    """
    if not logprobs:
        return None
    labels = labels or LabelSet()
    yes_words = {w for p in labels.labels.get("yes", []) for w in _words(p)[:1]}
    no_words = {w for p in labels.labels.get("no", []) for w in _words(p)[:1]}
    first = logprobs[0]
    seen: dict[str, float] = {}
    for alt in first.top_logprobs:
        seen.setdefault(alt.token, alt.logprob)
    seen.setdefault(first.token, first.logprob)
    yes = sum(math.exp(lp) for tok, lp in seen.items() if _token_word(tok) in yes_words)
    no = sum(math.exp(lp) for tok, lp in seen.items() if _token_word(tok) in no_words)
    if yes + no <= 0:
        return None
    return yes / (yes + no)


_REVEAL_PREFIX = re.compile(
    r"^\s*(?:ok(?:ay)?[,.!]?\s*)?(?:fine[,.!]?\s*)?"
    r"(?:it\s+(?:was|is)|it's|i\s+was\s+thinking\s+of|i\s+thought\s+of|the\s+(?:object|answer|secret)"
    r"(?:\s+(?:i\s+was\s+thinking\s+of|was|is))?(?:\s+(?:was|is))?|my\s+(?:object|secret)\s+(?:was|is))"
    r"\s*:?\s*",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:a|an|the|some)\s+", re.IGNORECASE)


def reveal_phrase(text: str) -> str:
    """The object named by a reveal: "It was a cat." -> "cat" (lower case, no article)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = re.split(r"[.!?;]", first, maxsplit=1)[0]
    body = _REVEAL_PREFIX.sub("", first, count=1)
    body = re.split(r",|\s+-\s+|\s+(?:and|but|which|that)\s+", body, maxsplit=1)[0]
    body = _ARTICLE.sub("", body.strip())
    return " ".join(_words(body))


def article(name: str) -> str:
    """"a cat", "an apple"."""
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


GUESS = re.compile(r"^\s*(?:is\s+it|was\s+it|are\s+you\s+thinking\s+of)\s+(?:(?:an|a|the|some)\s+)?(.+?)\s*\?*\s*$", re.IGNORECASE)


def guessed_object(question: str) -> str | None:
    """The object a direct guess names ("Is it a cat?" -> "cat"), else None."""
    m = GUESS.match(question)
    return " ".join(_words(m.group(1))) if m else None
