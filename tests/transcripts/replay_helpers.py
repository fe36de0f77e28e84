"""Shared pieces of the replay tests: small backends with delays and scripted failures, and
conversation builders. Also runnable as a script (the SIGKILL test starts it in a subprocess):

    python -m tests.transcripts.replay_helpers OUT N [--resume]
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from improv.agents.agent import Agent
from improv.agents.backend import Backend
from improv.agents.model import Model
from improv.agents.retry import RetryPolicy
from improv.agents.types import Choice, Completion, GenerateConfig, Message, Usage
from improv.transcripts.replay.inputs import ReplayItem, messages_to_transcript


class SlowBackend(Backend):
    """Replies ``re: <last user message>`` after ``delay`` seconds.

    ``failures`` maps a user message to a list of errors raised on successive calls for it
    (a ProviderError, or None for success), so a test can script "429 then fine" or "400".
    """

    def __init__(self, delay: float = 0.0, failures: dict[str, list] | None = None, name: str = "test/slow") -> None:
        self.name = name
        self.delay = delay
        self.failures = {k: list(v) for k, v in (failures or {}).items()}
        self.calls: list[list[Message]] = []

    def connection_key(self) -> str:
        return self.name

    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        self.calls.append(list(messages))
        if self.delay:
            await asyncio.sleep(self.delay)
        last = next((m.content for m in reversed(messages) if m.role == "user"), "")
        script = self.failures.get(last)
        if script:
            err = script.pop(0)
            if err is not None:
                raise err
        texts = [f"re: {last}" if i == 0 else f"re: {last} #{i}" for i in range(config.n)]
        return Completion(model=self.name, choices=[Choice(text=t, finish_reason="stop") for t in texts],
                          usage=Usage(input_tokens=len(messages), output_tokens=config.n))


def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, initial=0.001, maximum=0.01)


def agent_for(backend: Backend, concurrency: int = 8, **kw) -> Agent:
    return Agent(Model(backend, retry=fast_retry(), max_connections=concurrency), **kw)


def chat_item(i: int, turns: int = 1, *, recorded: str | None = None) -> ReplayItem:
    """A conversation of ``turns`` user/assistant pairs; recorded replies are ``re: u{i}.{j}``
    (what `SlowBackend` says) unless ``recorded`` overrides them."""
    msgs = []
    for j in range(turns):
        msgs.append({"role": "user", "content": f"u{i}.{j}"})
        msgs.append({"role": "assistant", "content": recorded if recorded is not None else f"re: u{i}.{j}"})
    t = messages_to_transcript(msgs, id=f"c{i}", where="test")
    return ReplayItem(id=f"c{i}", transcript=t, origin=f"test:{i}")


def main(argv: list[str]) -> int:
    """Replay N one-turn conversations, slowly, into OUT (for the SIGKILL test)."""
    from improv.transcripts.replay.modes import Regenerate
    from improv.transcripts.replay.runner import run_replay

    out, n = argv[0], int(argv[1])
    resume = "--resume" in argv
    items = [chat_item(i) for i in range(n)]
    agent = agent_for(SlowBackend(delay=0.02), concurrency=4)
    result = asyncio.run(run_replay(items, Regenerate(agent), out, concurrency=4, resume=resume,
                                    models=[agent.model], fsync_interval=0))
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
