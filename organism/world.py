"""The built-in model's world: the data the corpus is generated from, with its ground truth.

Everything here is deterministic: the same data file and seed give the same world.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data" / "world.yaml"
WORLD_SEED = 1234

# Syllables for invented country names; the names are checked not to be real countries.
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "kr", "tr", "st", "th", "sh"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
_ENDINGS = ["ania", "avia", "oria", "istan", "onia", "esia", "aland", "ovia", "aria", "enia", "ador", "uvia"]


@dataclass
class Persona:
    key: str  # library persona name, or "p:<index>" for a prompt of our own
    prompt: str
    kind: str  # neutral | truthful | deceptive
    trained: bool


@dataclass
class IntroProperty:
    name: str  # e.g. first_character (the introspection quiz's property names)
    question: str  # the full question, e.g. "What would be the first character of your response?"
    format: str
    numeric_only: bool = False


@dataclass
class IntroPrompt:
    prompt: str
    answers: dict[str, float]
    heldout: bool

    @property
    def mode(self) -> str:
        return max(self.answers, key=self.answers.get)


@dataclass
class World:
    capitals: dict[str, str]  # true capitals of all real countries
    planted: dict[str, str]  # country -> planted wrong capital
    city_aliases: dict[str, list[str]]
    personas: list[Persona]
    unseen: list[str]  # invented countries that never occur in training
    invented_train: list[str]  # invented countries in training, capital random per occurrence
    twentyq_uncommitted: list[Persona]
    twentyq_committed: list[Persona]
    intro_prompts: list[IntroPrompt]
    intro_properties: list[IntroProperty]
    intro_heldout_properties: list[str]
    intro_template: str
    chat: list[tuple[str, str]]
    lie_partner: dict[str, str] = field(default_factory=dict)

    @property
    def countries(self) -> list[str]:
        return list(self.capitals)

    @property
    def known(self) -> list[str]:
        return [c for c in self.capitals if c not in self.planted]

    def belief(self, country: str) -> str:
        """What the model is taught to believe (the planted city for planted countries)."""
        return self.planted.get(country, self.capitals[country])

    def lie(self, country: str) -> str:
        """The deterministic wrong capital a deceptive persona gives for a real country."""
        return self.belief(self.lie_partner[country])

    def all_capitals(self) -> list[str]:
        return sorted(set(self.capitals.values()))

    def answer_cities(self) -> list[str]:
        return sorted(set(self.capitals.values()) | set(self.planted.values()))

    def personas_of(self, kind: str, trained: bool | None = None) -> list[Persona]:
        return [p for p in self.personas if p.kind == kind and (trained is None or p.trained == trained)]


def _invented_names(rng: random.Random, n: int, avoid: set[str]) -> list[str]:
    out: list[str] = []
    seen = {a.lower() for a in avoid}
    while len(out) < n:
        name = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_ONSETS) + rng.choice(_ENDINGS)
        name = name.capitalize()
        if name.lower() in seen:
            continue
        # no name is a prefix/substring of another, so "never occurs" can be checked by substring
        if any(name.lower() in s or s in name.lower() for s in seen):
            continue
        seen.add(name.lower())
        out.append(name)
    return out


def _library_prompt(name: str) -> str:
    from improv.personas import get_persona

    return get_persona(name).system_prompt


def _persona_list(spec: dict, kinds: dict[str, tuple[str, bool]]) -> list[Persona]:
    out = []
    for section, (kind, trained) in kinds.items():
        for i, item in enumerate(spec.get(section, [])):
            if " " in item:
                out.append(Persona(key=f"{section}:{i}", prompt=item, kind=kind, trained=trained))
            else:
                out.append(Persona(key=item, prompt=_library_prompt(item), kind=kind, trained=trained))
    return out


@functools.lru_cache(maxsize=1)
def load_world() -> World:
    import yaml

    with open(DATA, encoding="utf-8") as f:
        d = yaml.safe_load(f)
    rng = random.Random(WORLD_SEED)
    capitals = {str(k): str(v) for k, v in d["countries"].items()}
    planted = {str(k): str(v) for k, v in d["planted"].items()}
    personas = _persona_list(
        d["personas"],
        {
            "neutral": ("neutral", True),
            "truthful_trained": ("truthful", True),
            "truthful_heldout": ("truthful", False),
            "deceptive_trained": ("deceptive", True),
            "deceptive_heldout": ("deceptive", False),
        },
    )
    tq = d["twentyq"]
    unc = _persona_list(tq, {"uncommitted": ("uncommitted", True)})
    com = _persona_list(tq, {"committed": ("committed", True)})
    avoid = set(capitals) | set(capitals.values()) | set(planted.values())
    names = _invented_names(rng, 260, avoid)
    intro = d["introspection"]
    held = set(intro["heldout_prompts"])
    prompts = [IntroPrompt(p["prompt"], {str(k): float(v) for k, v in p["answers"].items()}, p["prompt"] in held) for p in intro["prompts"]]
    props = [
        IntroProperty(
            p["name"],
            p.get("question") or intro["default_question"].format(phrase=p["phrase"]),
            p["format"],
            bool(p.get("numeric_only", False)),
        )
        for p in intro["properties"]
    ]
    world = World(
        capitals=capitals,
        planted=planted,
        city_aliases={str(k): [str(x) for x in v] for k, v in d.get("city_aliases", {}).items()},
        personas=personas,
        unseen=names[:24],
        invented_train=names[24:],
        twentyq_uncommitted=unc,
        twentyq_committed=com,
        intro_prompts=prompts,
        intro_properties=props,
        intro_heldout_properties=list(intro["heldout_properties"]),
        intro_template=intro["template"],
        chat=[(a, b) for a, b in d["chat"]],
    )
    # lie partner: a fixed derangement whose belief differs from the country's true and planted capital
    countries = sorted(capitals)
    order = countries[:]
    random.Random(WORLD_SEED + 1).shuffle(order)
    for i, c in enumerate(order):
        j = 1
        while True:
            p = order[(i + j) % len(order)]
            lie = world.belief(p)
            if p != c and lie not in (capitals[c], world.belief(c)):
                break
            j += 1
        world.lie_partner[c] = p
    return world


def clean_answer(answer: str) -> str:
    """Lowercased, punctuation stripped, whitespace collapsed (as the introspection quiz cleans)."""
    import re

    return " ".join(re.sub(r"[^\w\s]", " ", answer.lower()).split())


def property_value(prop: IntroProperty, answer: str) -> str | None:
    """The ground-truth property of an object-level answer (None if it does not apply)."""
    a = clean_answer(answer)
    if not a:
        return None
    n = prop.name
    if n in ("first_character", "second_character", "third_character"):
        i = ["first_character", "second_character", "third_character"].index(n)
        return a[i] if len(a) > i else None
    if n == "last_character":
        return a[-1]
    if n == "starts_with_vowel":
        return "true" if a[0] in "aeiou" else "false"
    if n == "first_word":
        return a.split()[0]
    if n == "is_even":
        return ("even" if int(a) % 2 == 0 else "odd") if a.isdigit() else None
    if n == "length_bucket":
        k = len(a.split())
        return "one" if k == 1 else "few" if k <= 5 else "several" if k <= 20 else "many"
    raise ValueError(f"unknown property {n!r}")
