"""The 20 Questions object/attribute table: everyday objects x yes/no attributes.

The data lives in ``games/data/objects.yaml``. Every object has a distinct attribute vector, and
each attribute has a canonical question plus several phrasings, so a questioner's wording can be
mapped back to the attribute it asks about.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA_PATH = Path(__file__).parent / "data" / "objects.yaml"

_ARTICLES = ("a ", "an ", "the ", "some ")


@dataclass(frozen=True)
class Attribute:
    key: str
    question: str  # canonical phrasing, e.g. "Is it alive?"
    phrasings: list[str] = field(default_factory=list)  # all phrasings, canonical first


def normalise_question(text: str) -> str:
    """Lowercase, collapse spaces, drop punctuation; 'color' and 'colour' match."""
    t = text.strip().lower().replace("colour", "color")
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    return " ".join(t.split())


def _singular(word: str) -> list[str]:
    out = [word]
    if word.endswith("ves") and len(word) > 4:
        out += [word[:-3] + "fe", word[:-3] + "f"]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and len(word) > 2:
        out.append(word[:-1])
    return out


class ObjectTable:
    """Objects (canonical lowercase singular names) x attributes (keys) -> bool."""

    def __init__(self, objects: dict[str, set[str]], attributes: list[Attribute], aliases: dict[str, str]):
        self.objects: list[str] = list(objects)
        self.attributes: list[Attribute] = list(attributes)
        self.aliases: dict[str, str] = dict(aliases)
        self._true = {o: frozenset(v) for o, v in objects.items()}
        self._attr = {a.key: a for a in self.attributes}
        self._phrase: dict[str, str] = {}
        for a in self.attributes:
            for p in [a.question, *a.phrasings]:
                self._phrase[normalise_question(p)] = a.key

    @property
    def attribute_keys(self) -> list[str]:
        return [a.key for a in self.attributes]

    def attribute(self, key: str) -> Attribute:
        return self._attr[key]

    def value(self, obj: str, attr_key: str) -> bool:
        if attr_key not in self._attr:
            raise KeyError(f"unknown attribute {attr_key!r}")
        return attr_key in self._true[obj]

    def vector(self, obj: str) -> dict[str, bool]:
        return {a.key: a.key in self._true[obj] for a in self.attributes}

    def canonical(self, text: str) -> str | None:
        """The canonical object name for 'Cats', 'a fridge', 'The Bicycle.' etc., else None."""
        t = text.strip().lower()
        t = re.sub(r"[^a-z ]+", " ", t)
        t = " ".join(t.split())
        for art in _ARTICLES:
            if t.startswith(art):
                t = t[len(art):]
                break
        if not t:
            return None
        for cand in _singular(t):
            if cand in self._true:
                return cand
            if cand in self.aliases:
                return self.aliases[cand]
        return None

    def attribute_for_question(self, text: str) -> str | None:
        return self._phrase.get(normalise_question(text))

    def consistent(self, obj: str, answers: list[tuple[str, bool]]) -> bool:
        return all(self.value(obj, k) == v for k, v in answers)

    def remaining(self, answers: list[tuple[str, bool]]) -> list[str]:
        return [o for o in self.objects if self.consistent(o, answers)]


def parse_table(data: dict) -> ObjectTable:
    attributes = []
    for a in data["attributes"]:
        phr = list(dict.fromkeys([a["question"], *a.get("phrasings", [])]))
        attributes.append(Attribute(key=a["key"], question=a["question"], phrasings=phr))
    keys = {a.key for a in attributes}
    objects: dict[str, set[str]] = {}
    for name, trues in data["objects"].items():
        unknown = set(trues or []) - keys
        if unknown:
            raise ValueError(f"{DATA_PATH}: object {name!r} has unknown attributes {sorted(unknown)}")
        objects[str(name)] = set(trues or [])
    aliases = {str(k).lower(): str(v) for k, v in (data.get("aliases") or {}).items()}
    for k, v in aliases.items():
        if v not in objects:
            raise ValueError(f"{DATA_PATH}: alias {k!r} points to unknown object {v!r}")
    return ObjectTable(objects, attributes, aliases)


@functools.lru_cache(maxsize=1)
def load_table() -> ObjectTable:
    import yaml

    with open(DATA_PATH, encoding="utf-8") as f:
        return parse_table(yaml.safe_load(f))
