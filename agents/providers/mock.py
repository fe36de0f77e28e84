"""``mock/<name>``: scripted replies for tests and demos. Output is marked ``scripted``.

Names:
- ``mock/echo`` repeats the last user message;
- ``mock/fixed:TEXT`` always answers TEXT;
- ``mock/cycle:A|B|C`` answers A, B, C, A, ... across samples and calls;
- ``mock/script:PATH`` reads replies (one per line, or a JSON list) and answers them in turn.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from ..backend import Backend
from ..errors import ConfigError
from ..registry import capabilities_of
from ..types import Choice, Completion, GenerateConfig, Message, StreamEnd, Usage


class MockBackend(Backend):
    def __init__(self, name: str, replies: list[str] | None) -> None:
        self.name = f"mock/{name}"
        self.capabilities = capabilities_of("mock")
        self._replies = itertools.cycle(replies) if replies else None

    def _reply(self, messages: Sequence[Message]) -> str:
        if self._replies is not None:
            return next(self._replies)
        last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        return last_user

    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        texts = [self._reply(messages) for _ in range(config.n)]
        if config.max_tokens is not None:
            texts = [" ".join(t.split(" ")[: config.max_tokens]) for t in texts]
        return Completion(
            model=self.name,
            choices=[Choice(text=t, finish_reason="stop") for t in texts],
            usage=Usage(
                input_tokens=sum(len(m.content.split()) for m in messages),
                output_tokens=sum(len(t.split()) for t in texts),
            ),
            scripted=True,
        )

    async def stream(self, messages: Sequence[Message], config: GenerateConfig) -> AsyncIterator[str]:
        text = (await self.generate(messages, config.model_copy(update={"n": 1}))).text
        for i, word in enumerate(text.split(" ")):
            yield word if i == 0 else " " + word
        yield StreamEnd(finish_reason="stop")


def create(rest: str) -> MockBackend:
    kind, _, arg = rest.partition(":")
    if kind == "echo":
        return MockBackend(rest, None)
    if kind == "fixed":
        return MockBackend(rest, [arg])
    if kind == "cycle":
        return MockBackend(rest, arg.split("|"))
    if kind == "script":
        path = Path(arg)
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"mock script {path}: {err.strerror or err}") from None
        try:
            replies = json.loads(raw) if raw.lstrip().startswith("[") else raw.splitlines()
        except json.JSONDecodeError as err:
            raise ConfigError(f"mock script {path}, line {err.lineno}: {err.msg}") from None
        if not replies or not all(isinstance(r, str) for r in replies):
            raise ConfigError(f"mock script {path}: expected a JSON list of strings or lines of text")
        return MockBackend(rest, replies)
    raise ConfigError(f"unknown mock model mock/{rest}; use mock/echo, mock/fixed:TEXT, mock/cycle:A|B, mock/script:PATH")
