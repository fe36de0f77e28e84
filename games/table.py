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

DATA_DIR = Path(__file__).parent / "data"
DATA_PATH = DATA_DIR / "objects.yaml"
#: tables chosen by name (``--objects NAME``); anything else is a path to a YAML file
TABLES = {
    "builtin": DATA_PATH,  # the built-in model's world (54 objects)
    "everyday": DATA_DIR / "everyday.yaml",  # a larger set of everyday things, for real models
}

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


def _plurals(name: str) -> list[str]:
    """Plural forms of a (possibly multi-word) name: the last word inflected."""
    head, _, last = name.rpartition(" ")
    pre = head + " " if head else ""
    forms = [last + "s", last + "es"]
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        forms.append(last[:-1] + "ies")
    if last.endswith("f"):
        forms.append(last[:-1] + "ves")
    if last.endswith("fe"):
        forms.append(last[:-2] + "ves")
    if last.endswith("man"):
        forms.append(last[:-3] + "men")
    if last.endswith("ouse"):
        forms.append(last[:-4] + "ice")
    return [pre + f for f in forms]


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

    def __init__(self, objects: dict[str, set[str]], attributes: list[Attribute], aliases: dict[str, str],
                 name: str = "builtin"):
        self.name = name
        self.objects: list[str] = list(objects)
        self.attributes: list[Attribute] = list(attributes)
        self.aliases: dict[str, str] = dict(aliases)
        self._true = {o: frozenset(v) for o, v in objects.items()}
        self._attr = {a.key: a for a in self.attributes}
        self._phrase: dict[str, str] = {}
        for a in self.attributes:
            for p in [a.question, *a.phrasings]:
                self._phrase[normalise_question(p)] = a.key

    def surface_forms(self) -> dict[str, str]:
        """Every way of writing an object (name, alias, plurals; lower case) -> canonical name."""
        if not hasattr(self, "_forms"):
            forms: dict[str, str] = {}
            for name, canon in [*((o, o) for o in self.objects), *self.aliases.items()]:
                forms.setdefault(name, canon)
                for pl in _plurals(name):
                    forms.setdefault(pl, canon)
            self._forms = forms
        return self._forms

    def surface_pattern(self) -> "re.Pattern[str]":
        """One regex for all surface forms, longest first, on word boundaries."""
        if not hasattr(self, "_pattern"):
            alts = sorted(self.surface_forms(), key=len, reverse=True)
            body = "|".join(re.escape(a).replace(r"\ ", r"[\s-]+") for a in alts)
            self._pattern = re.compile(rf"(?<![\w'-])(?:{body})(?![\w'-])", re.IGNORECASE)
        return self._pattern

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


def parse_table(data: dict, source: Path | str = DATA_PATH, name: str = "builtin") -> ObjectTable:
    attributes = []
    for a in data["attributes"]:
        phr = list(dict.fromkeys([a["question"], *a.get("phrasings", [])]))
        attributes.append(Attribute(key=a["key"], question=a["question"], phrasings=phr))
    keys = {a.key for a in attributes}
    objects: dict[str, set[str]] = {}
    for obj, trues in data["objects"].items():
        unknown = set(trues or []) - keys
        if unknown:
            raise ValueError(f"{source}: object {obj!r} has unknown attributes {sorted(unknown)}")
        objects[str(obj)] = set(trues or [])
    aliases = {str(k).lower(): str(v) for k, v in (data.get("aliases") or {}).items()}
    for k, v in aliases.items():
        if v not in objects:
            raise ValueError(f"{source}: alias {k!r} points to unknown object {v!r}")
    return ObjectTable(objects, attributes, aliases, name=name)


def table_path(spec: str | None) -> Path:
    """``builtin`` (default), ``everyday``, or a path to a table YAML file."""
    if spec is None or spec in TABLES:
        return TABLES[spec or "builtin"]
    return Path(spec)


def load_table(spec: str | None = None) -> ObjectTable:
    """The object table named ``spec`` (see `table_path`); the built-in model's world by default.
    Loaded once per name. A missing or malformed file is a `ConfigError` naming it."""
    return _load(spec or "builtin")


@functools.lru_cache(maxsize=8)
def _load(spec: str) -> ObjectTable:
    import yaml

    from improv.agents.errors import SettingError

    path = table_path(spec)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as err:
        raise SettingError("objects", f"cannot read {path}: {err.strerror or err}", spec) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise SettingError("objects", f"{path}{where}: not valid YAML", spec) from None
    if not isinstance(data, dict) or not isinstance(data.get("attributes"), list) or not isinstance(data.get("objects"), dict):
        raise SettingError("objects", f"{path}: expected 'attributes' (a list) and 'objects' (a mapping)", spec)
    try:
        return parse_table(data, path, name=spec)
    except (ValueError, KeyError, TypeError) as err:
        raise SettingError("objects", str(err), spec) from None
