"""Response properties: explicit extraction functions from an object-level answer.

Each extractor takes the *raw* object-level answer, cleans it as Binder et al. 2024 do
(`clean`: lowercase, drop an "Answer:" prefix, strip punctuation, newlines to spaces, collapse
whitespace) and returns the property value as a lowercase string, or ``None`` when the property
does not apply to the answer (an empty answer, a refusal, a non-number for ``is_even``, not one of
the options for ``among_options``). A ``None`` object-level value excludes the item (Binder's
rule: a non-compliant object-level answer excludes the prompt).

The property definitions (question wording, answer format) live in
``evaluator/data/introspection/properties.yaml``; `load_properties` reads them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError, SettingError

if TYPE_CHECKING:
    from improv.evaluator.judge import Judge

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "introspection"

AnswerType = Literal["char", "word", "bool", "label"]

_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’«»…–—")
_PREFIX = re.compile(r"^\s*(answer|response|my answer|my response|final answer)\s*[:\-]\s*", re.I)
# Refusals and non-answers (Binder's `default` compliance group), matched on the cleaned text.
REFUSALS = (
    "sorry", "as an ai", "as a language model", "i cannot", "i cant", "i can not", "i am unable",
    "im unable", "i dont know", "i do not know", "unknown", "impossible", "i will not", "i wont",
)


def clean(text: str) -> str:
    """Binder's ``apply_all_cleaning``: lowercase, no prefix, no punctuation, single spaces."""
    text = _PREFIX.sub("", text.strip())
    text = text.lower().translate(_PUNCT)
    return " ".join(text.split())


def is_refusal(cleaned: str) -> bool:
    return not cleaned or any(cleaned == r or cleaned.startswith(r + " ") or f" {r} " in f" {cleaned} "
                              for r in REFUSALS)


# -- extractors -----------------------------------------------------------------------------
# All take the raw answer; all return a string value or None.


def _cleaned(text: str) -> str | None:
    c = clean(text)
    return None if is_refusal(c) else c


def nth_character(text: str, n: int) -> str | None:
    """The n-th character (1-based) of the cleaned answer, spaces included."""
    c = _cleaned(text)
    return c[n - 1] if c is not None and len(c) >= n else None


def last_character(text: str) -> str | None:
    c = _cleaned(text)
    return c[-1] if c else None


def starts_with_vowel(text: str) -> str | None:
    c = _cleaned(text)
    return None if c is None else ("true" if c[0] in "aeiou" else "false")


def nth_word(text: str, n: int) -> str | None:
    c = _cleaned(text)
    if c is None:
        return None
    words = c.split()
    return words[n - 1] if len(words) >= n else None


def is_even(text: str) -> str | None:
    """``even``/``odd`` when the cleaned answer is a single integer, else None."""
    c = _cleaned(text)
    if c is None or not re.fullmatch(r"-?\d+", c):
        return None
    return "even" if int(c) % 2 == 0 else "odd"


def among_options(text: str, options: list[str]) -> str | None:
    """``true`` when the answer is one of ``options`` (e.g. a or c), ``false`` when it is another
    single letter option A-Z, None when the answer is not a single option (Binder's
    ``multiple_choice`` compliance check applied first, unlike their code)."""
    c = _cleaned(text)
    if c is None:
        return None
    words = c.split()
    if len(words) == 1 and len(c) == 1 and c.isalpha():
        return "true" if c in {o.lower() for o in options} else "false"
    # a letter with its option marker and text: "B) Mars", "(c) Paris", "Option D: ..."
    m = re.match(r"^\s*(?:option\s+)?\(?([a-z])\s*[).:]", text.strip(), re.I)
    if m is None:
        return None
    return "true" if m.group(1).lower() in {o.lower() for o in options} else "false"


def word_count(text: str) -> int:
    return len(clean(text).split())


def length_bucket(text: str, buckets: list[list[Any]]) -> str | None:
    """The first bucket ``[label, max_words]`` whose bound holds (``None`` bound = no limit)."""
    c = _cleaned(text)
    if c is None:
        return None
    words = len(c.split())
    for label, bound in buckets:
        if bound is None or words <= int(bound):
            return str(label)
    return None


SYNC_EXTRACTORS: dict[str, Callable[..., str | None]] = {
    "nth_character": nth_character,
    "last_character": last_character,
    "starts_with_vowel": starts_with_vowel,
    "nth_word": nth_word,
    "is_even": is_even,
    "among_options": among_options,
    "length_bucket": length_bucket,
}

# Extractors that need a judge model (async, called with the judge's generate function).
JUDGED_EXTRACTORS = {"sentiment"}

SENTIMENT_LABELS = ["positive", "negative", "neutral"]


async def sentiment(text: str, judge: "Judge | None") -> str | None:
    """The judge's sentiment label of the answer (prompt ``sentiment.txt`` in the data
    directory, through `evaluator.judge.Judge`); None for a refusal or an unparseable verdict."""
    if judge is None:
        raise SettingError("judge", "property sentiment is judge-scored: give a $judge model, or leave the property out")
    if _cleaned(text) is None:
        return None
    reply = await judge.choose("sentiment", SENTIMENT_LABELS, text=text.strip())
    return reply.answer.lower() if reply.answer else None


# -- property definitions -------------------------------------------------------------------


class Property(BaseModel):
    """One response property (a row of properties.yaml)."""

    name: str
    phrase: str
    question: str | None = None
    format: str
    answer: AnswerType
    labels: list[str] | None = None
    extractor: str
    args: dict[str, Any] = Field(default_factory=dict)

    @property
    def judged(self) -> bool:
        return self.extractor in JUDGED_EXTRACTORS

    def extract(self, text: str) -> str | None:
        """The property value of a raw object-level answer (not for judged properties)."""
        if self.judged:
            raise ValueError(f"property {self.name} is judge-scored; use extract_async")
        return SYNC_EXTRACTORS[self.extractor](text, **self.args)

    async def extract_async(self, text: str, judge: "Judge | None" = None) -> str | None:
        if self.extractor == "sentiment":
            return await sentiment(text, judge)
        return self.extract(text)


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML ({getattr(err, 'problem', None) or err})") from None


def load_properties(path: str | Path | None = None) -> dict[str, Property]:
    """Properties by name, from properties.yaml (default: the built-in file)."""
    from pydantic import ValidationError

    path = Path(path) if path else DATA_DIR / "properties.yaml"
    data = _load_yaml(path)
    rows = data.get("properties") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: expected a mapping with a 'properties' list")
    out: dict[str, Property] = {}
    for i, row in enumerate(rows):
        try:
            prop = Property.model_validate(row)
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"{path}: properties[{i}].{loc}: {first['msg']}") from None
        if prop.extractor not in SYNC_EXTRACTORS and prop.extractor not in JUDGED_EXTRACTORS:
            known = ", ".join(sorted([*SYNC_EXTRACTORS, *JUDGED_EXTRACTORS]))
            raise ConfigError(f"{path}: property {prop.name}: unknown extractor {prop.extractor!r} (known: {known})")
        if prop.answer == "label" and not prop.labels:
            raise ConfigError(f"{path}: property {prop.name}: answer type label needs 'labels'")
        out[prop.name] = prop
    return out


def load_templates(path: str | Path | None = None) -> dict[str, str]:
    path = Path(path) if path else DATA_DIR / "templates.yaml"
    data = _load_yaml(path)
    if not isinstance(data, dict) or not {"hypothetical", "default_question"} <= set(data):
        raise ConfigError(f"{path}: expected 'hypothetical' and 'default_question' templates")
    return {k: str(v) for k, v in data.items()}
