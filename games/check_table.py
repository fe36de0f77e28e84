"""Validate a 20 Questions object table: ``python -m improv.games.check_table [builtin|everyday|FILE ...]``.

A table is ground truth for fit and remaining-object counts, so it must not contradict itself:

- no contradictory attributes: the implications and exclusions in `RULES` hold for every object
  (checked where the table has both attributes: an animal is alive, nothing is both big and
  hand-held, ...);
- no two objects that are not aliases share an attribute vector (the questions could never
  tell them apart, and a fit check would credit one for the other);
- every alias points to an object, no alias is also an object's name, and no way of writing
  one object (name, alias, plural) is also a way of writing another;
- no question phrasing maps to two attributes.

Library: `check_table(table) -> list[str]` (the problems, empty when valid). Exit 1 on problems.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from .table import ObjectTable, _plurals, load_table

#: (if, then): every object with attribute ``if`` has ``then``
IMPLIES: list[tuple[str, str]] = [
    ("animal", "alive"), ("plant", "alive"), ("fur", "animal"), ("feathers", "animal"), ("pet", "animal"),
    ("farm", "animal"), ("wild", "animal"), ("predator", "animal"), ("insect", "animal"), ("tail", "animal"),
    ("horns", "animal"), ("stripes", "alive"), ("africa", "alive"), ("sea", "water"), ("many_people", "ride"),
    ("many_people", "big"), ("heavy", "big"), ("fruit", "edible"), ("vegetable", "edible"), ("meat", "edible"),
    ("grain", "edible"), ("peel", "edible"), ("tree_grows", "edible"), ("pit", "fruit"), ("mammal", "animal"), ("feet", "wear"), ("head", "wear"),
]
#: pairs no object may have both of
EXCLUDES: list[tuple[str, str]] = [
    ("animal", "plant"), ("big", "handheld"), ("heavy", "handheld"), ("fur", "feathers"), ("insect", "fur"),
    ("insect", "feathers"), ("fruit", "vegetable"), ("edible", "drink"), ("alive", "engine"), ("alive", "electric"),
    ("alive", "battery"), ("alive", "screen"), ("alive", "edible"), ("alive", "wear"), ("furniture", "handheld"),
    ("seat", "handheld"), ("feet", "head"), ("meat", "sweet"), ("alive", "metal"), ("alive", "plastic"),
]
RULES = {"implies": IMPLIES, "excludes": EXCLUDES}


def check_table(table: ObjectTable) -> list[str]:
    """Every problem found in ``table``, one line each (empty when it is valid)."""
    problems: list[str] = []
    keys = set(table.attribute_keys)
    for obj in table.objects:
        true = {k for k, v in table.vector(obj).items() if v}
        for a, b in IMPLIES:
            if a in keys and b in keys and a in true and b not in true:
                problems.append(f"{obj}: {a} without {b}")
        for a, b in EXCLUDES:
            if a in keys and b in keys and a in true and b in true:
                problems.append(f"{obj}: both {a} and {b}")
    by_vector: dict[tuple[bool, ...], list[str]] = defaultdict(list)
    for obj in table.objects:
        by_vector[tuple(table.vector(obj).values())].append(obj)
    for objs in by_vector.values():
        if len(objs) > 1:
            problems.append(f"same attribute vector (make them aliases or tell them apart): {', '.join(objs)}")
    names = set(table.objects)
    for alias, target in table.aliases.items():
        if alias in names:
            problems.append(f"alias {alias!r} is also an object")
        if target not in names:
            problems.append(f"alias {alias!r} points to unknown object {target!r}")
    writings: dict[str, set[str]] = defaultdict(set)
    for name, canon in [*((o, o) for o in table.objects), *table.aliases.items()]:
        for form in [name, *_plurals(name)]:
            writings[form].add(canon)
    for form, canons in sorted(writings.items()):
        # a plural that is another object's own name is fine when that name wins the lookup
        if len(canons) > 1 and not (form in names and table.surface_forms().get(form) == form):
            problems.append(f"{form!r} could be any of {', '.join(sorted(canons))}")
    seen: dict[str, str] = {}
    from .table import normalise_question

    for attr in table.attributes:
        for phrase in [attr.question, *attr.phrasings]:
            norm = normalise_question(phrase)
            if seen.setdefault(norm, attr.key) != attr.key:
                problems.append(f"question {phrase!r} asks about both {seen[norm]} and {attr.key}")
    return problems


def main(argv: list[str] | None = None) -> int:
    specs = (argv if argv is not None else sys.argv[1:]) or ["builtin", "everyday"]
    bad = 0
    for spec in specs:
        table = load_table(spec)
        problems = check_table(table)
        status = "ok" if not problems else f"{len(problems)} problems"
        sys.stdout.write(f"{spec}: {len(table.objects)} objects, {len(table.attributes)} attributes, "
                         f"{len(table.aliases)} aliases: {status}\n")
        for p in problems:
            sys.stdout.write(f"  {p}\n")
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
