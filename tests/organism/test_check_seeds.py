"""The check's sampling seeds follow the prompt, not the order concurrent calls finish in."""

from __future__ import annotations

import asyncio

from improv.agents.backend import Backend
from improv.agents.model import Model
from improv.agents.types import Capabilities, Choice, Completion, Message
from improv.organism.check import _SEED, _sample


class _Recorder(Backend):
    name = "recorder"
    capabilities = Capabilities(seed=True, native_n=True)

    def __init__(self, delays: dict[str, float]) -> None:
        self.delays = delays
        self.seeds: dict[str, int | None] = {}

    async def generate(self, messages, config):
        prompt = messages[-1].content
        await asyncio.sleep(self.delays.get(prompt, 0.0))
        self.seeds[prompt] = config.seed
        return Completion(model=self.name, choices=[Choice(text="x")] * config.n)


async def _run(delays: dict[str, float], base: int | None) -> dict[str, int | None]:
    backend = _Recorder(delays)
    model = Model(backend)
    _SEED.set(base)
    await asyncio.gather(*(_sample(model, [Message(role="user", content=p)], 1, 4) for p in ("a", "b", "c")))
    return backend.seeds


async def test_seeds_do_not_depend_on_completion_order():
    first = await _run({"a": 0.0, "b": 0.01, "c": 0.02}, 7)
    second = await _run({"a": 0.02, "b": 0.01, "c": 0.0}, 7)  # finished in the other order
    assert first == second and len(set(first.values())) == 3
    assert (await _run({}, 8)) != first  # another run seed, other samples
    assert set((await _run({}, None)).values()) == {None}  # unseeded stays unseeded
