"""Predictions read from the model's own distribution over a closed answer space.

A hypothetical whose answer is one of a known, small set (a character, true/false, even/odd, a
label) has a prediction even when the model's free text would not comply: on backends that score
(`hf/`, `organism`) each allowed answer is teacher-forced as the whole reply and the
log-likelihoods are normalised over the space (exact, no sampling); on servers with top logprobs
the first answer token's alternatives are read instead (`hypothetical.first_token_distribution`,
covering only the mass the top-k tokens hold). The prediction is the most probable allowed answer;
the free-text answer is kept beside it for the compliance figure.

The same route gives exact *object-level* distributions for properties decided by the first token
of the answer (first character, starts with a vowel, an option letter, the parity of a one-digit
answer): the next-token distribution at the start of the reply, grouped by property value.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence

from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message

from .hypothetical import first_token_distribution, normalised
from .properties import Property

#: a character answer: the characters a cleaned answer starts with (lowercase letters and digits)
CHAR_SPACE = list(string.ascii_lowercase + string.digits)


def answer_space(prop: Property) -> list[str] | None:
    """The allowed answers of a closed-space property, as the reply text; None for free ones."""
    if prop.answer == "char":
        return list(CHAR_SPACE)
    if prop.answer == "bool":
        return ["true", "false"]
    if prop.answer == "label":
        return [label.lower() for label in prop.labels or []]
    return None


def closed(prop: Property) -> bool:
    return answer_space(prop) is not None and not prop.judged


def route(model: Model) -> str | None:
    """How a closed-space distribution is read from this model: scored, logprobs or None."""
    caps = model.capabilities
    if caps.score:
        return "scored"
    if caps.logprobs:
        return "logprobs"
    return None


def normalise(logliks: Sequence[float], space: Sequence[str]) -> tuple[dict[str, float], float]:
    """Softmax of log-likelihoods over the space, and the total probability the space holds."""
    top = max(logliks)
    weights = [math.exp(x - top) for x in logliks]
    total = sum(weights)
    mass = sum(math.exp(x) for x in logliks)
    return {v: w / total for v, w in zip(space, weights)}, mass


async def read_distribution(model: Model, messages: Sequence[Message], prop: Property, *,
                            top_logprobs: int = 20) -> tuple[dict[str, float], str, float] | None:
    """``(distribution, source, mass)`` over the property's allowed answers, or None when the
    property is not closed or the backend gives no probabilities."""
    space = answer_space(prop)
    how = route(model)
    if space is None or how is None:
        return None
    if how == "scored":
        logliks = await model.score(list(messages), space)
        dist, mass = normalise(logliks, space)
        return dist, how, mass
    config = GenerateConfig(temperature=0.0, max_tokens=3, logprobs=True, top_logprobs=top_logprobs)
    completion = await model.generate(list(messages), config)
    got = first_token_distribution(completion.choices[0], prop)
    if got is None:
        return None
    dist, mass = got
    return dist, how, mass


def argmax(dist: dict[str, float]) -> str:
    """The most probable value (ties: the first in the space's order)."""
    return max(dist, key=lambda k: dist[k])


# -- object level: the first-token distribution grouped by property value ---------------------------

FIRST_TOKEN_PROPERTIES = {"first_character", "starts_with_vowel", "among_options", "is_even"}


def first_token_decides(prop: Property, task_single_digit: bool = False) -> bool:
    """Whether the first reply token decides the property value (so the object-level
    distribution can be read exactly from one next-token distribution)."""
    if prop.extractor == "nth_character":
        return prop.args.get("n") == 1
    if prop.extractor in ("starts_with_vowel", "among_options"):
        return True
    return prop.extractor == "is_even" and task_single_digit


async def first_token(model: Model, messages: Sequence[Message], *, top_logprobs: int = 20):
    """The object-level reply's first tokens with their top alternatives (one call per prompt,
    shared by every first-token property), or None when the backend gives no logprobs."""
    if not model.capabilities.logprobs:
        return None
    config = GenerateConfig(temperature=0.0, max_tokens=2, logprobs=True, top_logprobs=top_logprobs)
    completion = await model.generate(list(messages), config)
    return completion.choices[0]


def group_first_token(choice, prop: Property) -> tuple[dict[str, float], float] | None:
    """The object-level property distribution from the first reply token's top alternatives
    (grouped by the property value of the token text; tokens without a value dropped and the
    rest renormalised), and the probability mass the grouped tokens covered."""
    if choice is None or not choice.logprobs:
        return None
    entry = next((e for e in choice.logprobs if e.token.strip()), choice.logprobs[0])
    dist: dict[str, float] = {}
    for alt in entry.top_logprobs or []:
        text = alt.token.strip()
        value = prop.extract(text) if text else None
        if value is not None:
            dist[value] = dist.get(value, 0.0) + math.exp(alt.logprob)
    return normalised(dist)


async def object_distribution(model: Model, messages: Sequence[Message], prop: Property, *,
                              top_logprobs: int = 20) -> tuple[dict[str, float], float] | None:
    """`group_first_token` of one fresh `first_token` call."""
    return group_first_token(await first_token(model, messages, top_logprobs=top_logprobs), prop)
