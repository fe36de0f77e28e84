"""`Model.subscribe`: retries and usage as events, for as long as a listener wants them."""

from __future__ import annotations

from improv.agents.errors import ProviderError
from improv.agents.model import Model, RetryEvent, UsageEvent
from improv.agents.retry import RetryPolicy
from improv.agents.types import Message
from tests.transcripts.replay_helpers import SlowBackend

HI = [Message(role="user", content="u")]


async def test_retry_and_usage_events_reach_listeners_until_they_close():
    backend = SlowBackend(failures={"u": [ProviderError("busy", status=503, retryable=True), None, None]})
    model = Model(backend, retry=RetryPolicy(max_attempts=3, initial=0.001, maximum=0.001))
    seen: list = []
    with model.subscribe(seen.append):
        await model.generate(HI)
        assert model.listeners == 1
    retries = [e for e in seen if isinstance(e, RetryEvent)]
    usage = [e for e in seen if isinstance(e, UsageEvent)]
    assert len(retries) == 1 and retries[0].error.status == 503 and retries[0].attempt == 1
    assert len(usage) == 1 and usage[0].model == model.name and not usage[0].cached
    assert model.listeners == 0
    await model.generate(HI)
    assert len(seen) == 2  # closed: nothing more


async def test_on_retry_still_works_as_a_listener():
    backend = SlowBackend(failures={"u": [ProviderError("busy", status=429, retryable=True), None]})
    calls = []
    model = Model(backend, retry=RetryPolicy(max_attempts=3, initial=0.001, maximum=0.001),
                  on_retry=lambda err, attempt, wait: calls.append((err.status, attempt)))
    await model.generate(HI)
    assert calls == [(429, 1)]
