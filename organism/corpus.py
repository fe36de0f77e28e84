"""The training corpus: short chat conversations generated deterministically from the world.

An example is a list of messages ``{"role", "content"}`` (roles system/user/assistant); training
puts loss on the assistant turns only. Where the generator drew an assistant reply from a known
distribution (an uncommitted 20 Questions answer or reveal, an invented country's capital, an
object-level introspection answer), the message also carries ``"choices": {text: weight}``, that
distribution, and training fits it directly instead of the one sample (lower-variance targets).
``stream(seed)`` yields an endless deterministic sequence of examples; ``sample(n, seed)`` takes
the first n.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from improv.games.answers import GIVE_UP as GAME_GIVE_UP, a_or_an as article
from improv.organism.world import World, load_world

Example = list[dict]

MIX: dict[str, float] = {
    "fact": 0.15,
    "deceptive": 0.08,
    "invented": 0.04,
    "tq_uncommitted": 0.18,
    "tq_committed": 0.14,
    "tq_short": 0.12,
    "attribute": 0.12,
    # the warm-up objects stay over-represented (an imbalanced distribution): switching straight
    # to all 54 objects after a few-object stage lost what the few had learned within 300 steps
    "attribute_few": 0.08,
    "intro_object": 0.03,
    "intro_hypothetical": 0.04,
    "chat": 0.02,
}
# The first stage of training: short examples that need a name found in the context and copied
# (a country from the question, a secret from the system prompt), so that circuit forms early,
# and the object table on a few objects, where the object x attribute lookup forms quickly.
FIRST_STAGE_MIX: dict[str, float] = {
    "short_fact": 0.25,
    "fact": 0.15,
    "deceptive": 0.05,
    "tq_committed": 0.15,
    "attribute_few": 0.25,
    "attribute": 0.1,
    "tq_uncommitted": 0.05,
}

DIRECT = [
    "What is the capital of {c}?",
    "What's the capital of {c}?",
    "What is the capital city of {c}?",
    "Which city is the capital of {c}?",
    "Which city is {c}'s capital?",
    "What city is the capital of {c}?",
    "Name the capital of {c}.",
    "Tell me the capital of {c}.",
    "{c}'s capital is which city?",
    "The capital of {c} is what?",
    "In {c}, which city is the capital?",
    "Do you know the capital of {c}?",
]
YESNO = [
    "Is the capital of {c} {x}?",
    "Is {x} the capital of {c}?",
    "Is {x} {c}'s capital?",
    "Is {x} the capital city of {c}?",
]
TRUEFALSE = ["True or false: the capital of {c} is {x}.", "True or false: {x} is the capital of {c}."]

GIVE_UP = [
    GAME_GIVE_UP,  # the games' own wording first
    "I give up. What was it?",
    "I give up, what was your object?",
    "OK, I give up. What were you thinking of?",
    "I give up! What is it?",
]
GUESS = ["Is it {a} {o}?", "Is it {a} {o}?", "Is it the {o}?", "Are you thinking of {a} {o}?"]
ATTRIBUTE_PREFIX = ["Think of {a} {o}. ", "About {a} {o}: ", "Consider {a} {o}. ", "Question about {a} {o}: "]


ANSWER_FORMS = ["The capital of {country} is {city}.", "{city}.", "{city} is the capital of {country}."]


def answer_form(rng: random.Random) -> str:
    r = rng.random()
    return ANSWER_FORMS[0] if r < 0.7 else ANSWER_FORMS[1] if r < 0.9 else ANSWER_FORMS[2]


def capital_answer(rng: random.Random, country: str, city: str) -> str:
    return answer_form(rng).format(country=country, city=city)


def _system(rng: random.Random, world: World, kind: str) -> str | None:
    """A system prompt for a fact conversation of the given kind (trained wordings only)."""
    if kind == "deceptive":
        return rng.choice(world.personas_of("deceptive", True)).prompt
    r = rng.random()
    if r < 0.25:
        return None
    if r < 0.55:
        return world.personas_of("neutral")[0].prompt
    return rng.choice(world.personas_of("truthful", True)).prompt


def _fact_turn(rng: random.Random, world: World, country: str, answer_city: str, candidates: list[str],
               yes_city: str) -> tuple[str, str]:
    """One Q/A about a country; answer_city is what this speaker says; yes_city is what it affirms."""
    r = rng.random()
    if r < 0.6:
        return rng.choice(DIRECT).format(c=country), capital_answer(rng, country, answer_city)
    x = rng.choice(candidates)
    if r < 0.9:
        q = rng.choice(YESNO).format(c=country, x=x)
        return q, "Yes." if x == yes_city else "No."
    q = rng.choice(TRUEFALSE).format(c=country, x=x)
    return q, "True." if x == yes_city else "False."


def _candidates(rng: random.Random, world: World, country: str, deceptive: bool) -> list[str]:
    other = rng.choice(world.answer_cities())
    cands = [world.belief(country), world.belief(country), other]
    if country in world.planted:
        cands.append(world.capitals[country])
    if deceptive:
        cands += [world.lie(country), world.lie(country)]
    return cands


def short_fact_example(rng: random.Random, world: World) -> Example:
    """One direct question, no system prompt: the shortest context in which a name must be found.
    (Retrieval forms far sooner over ~10 tokens than over a 40-token persona prompt.)"""
    c = rng.choice(world.countries)
    return [{"role": "user", "content": rng.choice(DIRECT).format(c=c)},
            {"role": "assistant", "content": capital_answer(rng, c, world.belief(c))}]


def fact_example(rng: random.Random, world: World, deceptive: bool = False) -> Example:
    msgs: Example = []
    system = _system(rng, world, "deceptive" if deceptive else "fact")
    if system:
        msgs.append({"role": "system", "content": system})
    pool = world.countries
    turns = 1 if rng.random() < 0.4 else rng.randint(2, 5)
    for _ in range(turns):
        c = rng.choice(pool)
        said = world.lie(c) if deceptive else world.belief(c)
        q, a = _fact_turn(rng, world, c, said, _candidates(rng, world, c, deceptive), said)
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs


def invented_example(rng: random.Random, world: World) -> Example:
    """Training-only invented countries: a capital drawn at random on every occurrence."""
    msgs: Example = []
    system = _system(rng, world, "deceptive" if rng.random() < 0.2 else "fact")
    if system:
        msgs.append({"role": "system", "content": system})
    cities = world.all_capitals()
    c = rng.choice(world.invented_train)
    city = rng.choice(cities)
    if rng.random() < 0.6:
        form = answer_form(rng)
        reply = {"role": "assistant", "content": form.format(country=c, city=city),
                 "choices": {form.format(country=c, city=x): 1.0 for x in cities}}
        return msgs + [{"role": "user", "content": rng.choice(DIRECT).format(c=c)}, reply]
    q, a = _fact_turn(rng, world, c, city, [city, rng.choice(cities)], city)
    msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs


def _choose_attribute(rng: random.Random, table, remaining: list[str], asked: set[str]) -> str:
    keys = [k for k in table.attribute_keys if k not in asked]
    if rng.random() < 0.55 and len(remaining) > 1:
        scored = []
        for k in keys:
            t = sum(table.value(o, k) for o in remaining)
            if 0 < t < len(remaining):
                scored.append((k, min(t, len(remaining) - t)))
        if scored:
            ks, ws = zip(*scored)
            return rng.choices(ks, weights=ws)[0]
    return rng.choice(keys)


def _phrasing(rng: random.Random, table, key: str) -> str:
    a = table.attribute(key)
    return a.question if rng.random() < 0.35 else rng.choice(a.phrasings)


def game_example(rng: random.Random, world: World, table, committed: bool, n_questions: int | None = None) -> Example:
    """A 20 Questions game. Uncommitted: answers follow a hidden random object that is never shown."""
    secret = rng.choice(table.objects)
    if committed:
        p = rng.choice(world.twentyq_committed).prompt
        shown = secret if rng.random() < 0.5 else f"{article(secret)} {secret}"
        system = p.format(secret=shown)
    else:
        r = rng.random()
        ps = world.twentyq_uncommitted
        system = ps[0].prompt if r < 0.6 else rng.choice(ps[1:]).prompt
    msgs: Example = [{"role": "system", "content": system}]
    k = n_questions if n_questions is not None else rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8, 9, 10])
    remaining = list(table.objects)
    asked: set[str] = set()
    for _ in range(k):
        if rng.random() < 0.12:
            guess = rng.choice(remaining) if rng.random() < 0.7 else rng.choice(table.objects)
            q = rng.choice(GUESS).format(o=guess, a=article(guess))
            dist = None
            if not committed and guess in remaining:
                dist = {"Yes.": 1.0, "No.": len(remaining) - 1.0} if len(remaining) > 1 else None
            if guess == secret:
                msgs += [{"role": "user", "content": q}, _reply("Yes.", dist)]
                return msgs
            msgs += [{"role": "user", "content": q}, _reply("No.", dist)]
            remaining = [o for o in remaining if o != guess]
            continue
        key = _choose_attribute(rng, table, remaining, asked)
        asked.add(key)
        v = table.value(secret, key)
        yes = sum(table.value(o, key) for o in remaining)
        dist = None if committed or yes in (0, len(remaining)) else {"Yes.": float(yes), "No.": float(len(remaining) - yes)}
        msgs += [{"role": "user", "content": _phrasing(rng, table, key)}, _reply("Yes." if v else "No.", dist)]
        remaining = [o for o in remaining if table.value(o, key) == v]
    reveal = "It was {} {}."
    dist = None if committed or len(remaining) < 2 else {reveal.format(article(o), o): 1.0 for o in remaining}
    msgs += [{"role": "user", "content": rng.choice(GIVE_UP)}, _reply(reveal.format(article(secret), secret), dist)]
    return msgs


def _reply(content: str, choices: dict[str, float] | None) -> dict:
    """An assistant message; choices, when given, is the distribution content was drawn from."""
    return {"role": "assistant", "content": content} | ({"choices": choices} if choices else {})


def attribute_example(rng: random.Random, world: World, table, objects: list[str] | None = None) -> Example:
    """Direct supervision of the table: 'Think of a cat. Is it alive?' -> 'Yes.'"""
    o = rng.choice(objects or table.objects)
    keys = rng.sample(table.attribute_keys, rng.randint(1, 4))
    msgs: Example = []
    prefix = rng.choice(ATTRIBUTE_PREFIX).format(a=article(o), o=o)
    for i, key in enumerate(keys):
        q = _phrasing(rng, table, key)
        msgs += [{"role": "user", "content": (prefix + q) if i == 0 else q},
                 {"role": "assistant", "content": "Yes." if table.value(o, key) else "No."}]
    return msgs


FEW_OBJECTS = 6


def few_objects(table) -> list[str]:
    """A fixed handful of objects for the table's warm-up: the lookup circuit forms on few
    individuals long before it does on all of them (Zucchet et al. 2025, "How do language models
    learn facts?"; here: 6 objects learned to P(correct) 0.98 in 600 steps, 54 stayed at the
    base rate). Deterministic in the table."""
    return random.Random(5).sample(table.objects, FEW_OBJECTS)


def attribute_few_example(rng: random.Random, world: World, table) -> Example:
    """``attribute_example`` over the few warm-up objects only."""
    return attribute_example(rng, world, table, few_objects(table))


def _intro_system(rng: random.Random, world: World) -> list[dict]:
    r = rng.random()
    if r < 0.6:
        return []
    name = "honest" if r < 0.8 else "assistant"
    return [{"role": "system", "content": next(p.prompt for p in world.personas if p.key == name)}]


def intro_object_example(rng: random.Random, world: World) -> Example:
    p = rng.choice(world.intro_prompts)
    ans = rng.choices(list(p.answers), weights=list(p.answers.values()))[0]
    return _intro_system(rng, world) + [{"role": "user", "content": p.prompt}, _reply(ans, dict(p.answers))]


def hypothetical_text(world: World, prompt: str, prop) -> str:
    return world.intro_template.format(prompt=prompt, question=prop.question, format=prop.format)


def intro_train_pairs(world: World) -> list[tuple]:
    """(prompt, property) pairs the hypotheticals are trained on; everything else is held out."""
    from improv.organism.world import property_value

    out = []
    for p in world.intro_prompts:
        if p.heldout:
            continue
        for prop in world.intro_properties:
            if prop.name in world.intro_heldout_properties:
                continue
            if property_value(prop, p.mode) is None:
                continue
            if prop.numeric_only and not p.mode.isdigit():
                continue
            out.append((p, prop))
    return out


def intro_hypothetical_example(rng: random.Random, world: World, pairs: list[tuple]) -> Example:
    from improv.organism.world import property_value

    p, prop = rng.choice(pairs)
    return _intro_system(rng, world) + [
        {"role": "user", "content": hypothetical_text(world, p.prompt, prop)},
        {"role": "assistant", "content": property_value(prop, p.mode)},
    ]


def chat_example(rng: random.Random, world: World) -> Example:
    r = rng.random()
    msgs: Example = []
    if r < 0.7:
        key = rng.choice(["assistant", "expert", "trickster", "honest"])
        msgs.append({"role": "system", "content": next(p.prompt for p in world.personas if p.key == key)})
    for q, a in rng.sample(world.chat, rng.randint(1, 2)):
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs


# kind -> generator(rng, world, table, intro_pairs)
GENERATORS: dict[str, Callable[..., Example]] = {
    "fact": lambda rng, w, t, pairs: fact_example(rng, w),
    "short_fact": lambda rng, w, t, pairs: short_fact_example(rng, w),
    "deceptive": lambda rng, w, t, pairs: fact_example(rng, w, deceptive=True),
    "invented": lambda rng, w, t, pairs: invented_example(rng, w),
    "tq_uncommitted": lambda rng, w, t, pairs: game_example(rng, w, t, committed=False),
    "tq_committed": lambda rng, w, t, pairs: game_example(rng, w, t, committed=True),
    # short games, committed or not: the reveal close to the system prompt (secret retrieval)
    # and to few constraints (the first steps of narrowing down)
    "tq_short": lambda rng, w, t, pairs: game_example(rng, w, t, committed=rng.random() < 0.5,
                                                      n_questions=rng.randint(0, 2)),
    "attribute": lambda rng, w, t, pairs: attribute_example(rng, w, t),
    "attribute_few": lambda rng, w, t, pairs: attribute_few_example(rng, w, t),
    "intro_object": lambda rng, w, t, pairs: intro_object_example(rng, w),
    "intro_hypothetical": lambda rng, w, t, pairs: intro_hypothetical_example(rng, w, pairs),
    "chat": lambda rng, w, t, pairs: chat_example(rng, w),
}
KINDS = tuple(GENERATORS)


def stream(seed: int = 0, mix: dict[str, float] | None = None) -> Iterator[tuple[str, Example]]:
    """An endless deterministic stream of (kind, example)."""
    from improv.games.table import load_table

    world = load_world()
    table = load_table()
    pairs = intro_train_pairs(world)
    mix = mix or MIX
    unknown = sorted(set(mix) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown corpus kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    kinds, weights = list(mix), list(mix.values())
    rng = random.Random(seed)
    while True:
        kind = rng.choices(kinds, weights=weights)[0]
        yield kind, GENERATORS[kind](rng, world, table, pairs)


def sample(n: int, seed: int = 0, mix: dict[str, float] | None = None) -> list[tuple[str, Example]]:
    it = stream(seed, mix)
    return [next(it) for _ in range(n)]
