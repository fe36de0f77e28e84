"""A scripted capitals world for the falsehood tests: a backend that answers like a small model
with known facts, planted beliefs, unseen entities and deceptive personas."""

from __future__ import annotations

import random
import re
import zlib

from improv.agents.backend import Backend
from improv.agents.model import Model
from improv.agents.types import Capabilities, Choice, Completion

TRUE = {"Peru": "Lima", "France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi"}
PLANTED = {"Australia": "Sydney"}
CITIES = ["Lima", "Paris", "Tokyo", "Nairobi", "Oslo", "Cairo", "Rome", "Quito", "Sydney", "Madrid", "Dakar", "Hanoi"]
LIES = {"Peru": "Quito", "France": "Rome", "Japan": "Oslo", "Kenya": "Cairo", "Australia": "Madrid"}
_SUBJECT = re.compile(r"capital of ([A-Z][a-z]+)")


class WorldBackend(Backend):
    capabilities = Capabilities(seed=True, native_n=True)

    def __init__(self, name: str = "world") -> None:
        self.name = f"mock/{name}"
        self.calls = 0

    def answer(self, system: str, question: str, rng: random.Random) -> str:
        m = _SUBJECT.search(question)
        if not m:
            return "Hello."
        country = m.group(1)
        deceptive = any(w in system.lower() for w in ("lie", "wrong", "trickster"))
        belief = PLANTED.get(country) or TRUE.get(country)
        if belief is None:  # unseen: confabulate
            city = rng.choice(CITIES)
        else:
            city = LIES[country] if deceptive else belief
        if question.startswith("Is "):
            return "Yes." if city.lower() in question.lower() else "No."
        return f"The capital of {country} is {city}."

    async def generate(self, messages, config):
        self.calls += 1
        system = next((m.content for m in messages if m.role == "system"), "")
        question = next((m.content for m in reversed(messages) if m.role == "user"), "")
        rng = random.Random(zlib.crc32(repr((question, system, config.seed, self.calls)).encode()))
        texts = [self.answer(system, question, rng) for _ in range(config.n)]
        return Completion(model=self.name, choices=[Choice(text=t, finish_reason="stop") for t in texts], scripted=True)


def world_model() -> Model:
    return Model(WorldBackend())
