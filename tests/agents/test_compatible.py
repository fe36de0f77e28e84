"""OpenAI-compatible servers (ollama, vllm, llamacpp, openai-api/<service>) against the fake:
the OpenAI key never leaves for them, n is native only where declared, errors name the
server's own variables."""

import socket

import pytest

from improv.agents import ConfigError, GenerateConfig, Message, ProviderConfigError, ProviderError, RetryPolicy, get_model
from tests.fakes.openai_server import FakeOpenAI

FAST = RetryPolicy(initial=0.01, maximum=0.05)
HI = [Message(role="user", content="hello")]
SECRET = "OPENAI-SECRET-must-not-travel"

# (model string, base URL variable, key variable)
SERVERS = [
    ("ollama/llama3.1", "OLLAMA_BASE_URL", "OLLAMA_API_KEY"),
    ("vllm/meta-llama/Llama-3.1-8B-Instruct", "VLLM_BASE_URL", "VLLM_API_KEY"),
    ("llamacpp/default", "LLAMACPP_BASE_URL", "LLAMACPP_API_KEY"),
    ("openai-api/acme-ai/acme-chat-1", "ACME_AI_BASE_URL", "ACME_AI_API_KEY"),
]


@pytest.fixture
def openai_secrets(clean_env):
    """Every OPENAI_* variable the SDK would read, set to something that must not travel."""
    clean_env.setenv("OPENAI_API_KEY", f"sk-{SECRET}")
    clean_env.setenv("OPENAI_ORG_ID", f"org-{SECRET}")
    clean_env.setenv("OPENAI_PROJECT_ID", f"proj-{SECRET}")
    clean_env.setenv("OPENAI_ADMIN_KEY", f"admin-{SECRET}")
    clean_env.setenv("OPENAI_CUSTOM_HEADERS", f"Authorization: Bearer hdr-{SECRET}\nX-Extra: {SECRET}")
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # must be ignored too
    return clean_env


@pytest.mark.parametrize("model_string, url_var, key_var", SERVERS)
async def test_openai_key_never_reaches_compatible_servers(openai_secrets, fake_openai, model_string, url_var, key_var):
    openai_secrets.setenv(url_var, fake_openai.base_url)
    m = get_model(model_string, retry=FAST)
    out = await m.generate(HI)
    streamed = "".join([d async for d in m.stream(HI)])
    await m.aclose()
    assert out.text.startswith("Echo: hello") and streamed.startswith("Echo: hello")
    assert len(fake_openai.requests) == 2
    for req in fake_openai.requests:
        assert SECRET not in repr(req.headers) and SECRET.encode() not in req.body
        assert req.headers["authorization"] == "Bearer no-key"
        assert not [h for h in req.headers if h.startswith("openai-") or h == "x-extra"]
    assert fake_openai.requests[0].json["model"] == model_string.split("/", 2 if model_string.startswith("openai-api") else 1)[-1]


@pytest.mark.parametrize("model_string, url_var, key_var", SERVERS)
async def test_own_key_is_sent_and_named_on_401(openai_secrets, fake_openai, model_string, url_var, key_var):
    openai_secrets.setenv(url_var, fake_openai.base_url)
    openai_secrets.setenv(key_var, "own-key-123")
    fake_openai.api_key = "own-key-123"
    m = get_model(model_string, retry=FAST)
    await m.generate(HI)
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer own-key-123"
    fake_openai.api_key = "something-else"
    with pytest.raises(ProviderConfigError) as info:
        await m.generate(HI)
    await m.aclose()
    assert str(info.value) == f"{model_string}: authentication failed (401): check {key_var}"
    assert "own-key-123" not in str(info.value)


async def test_ollama_n_is_concurrent_single_requests_with_distinct_seeds(clean_env, fake_openai):
    clean_env.setenv("OLLAMA_BASE_URL", fake_openai.base_url)
    fake_openai.latency = 0.05
    m = get_model("ollama/llama3.1", retry=FAST)
    assert not m.capabilities.native_n
    out = await m.generate(HI, GenerateConfig(n=3, seed=7, max_tokens=50))
    await m.aclose()
    assert len(out.choices) == 3 and len({c.text for c in out.choices}) == 3
    bodies = [r.json for r in fake_openai.requests]
    assert len(bodies) == 3 and all("n" not in b for b in bodies)
    assert sorted(b["seed"] for b in bodies) == [7, 8, 9]
    # compatible servers get the widely supported max_tokens name
    assert all(b["max_tokens"] == 50 and "max_completion_tokens" not in b for b in bodies)
    assert fake_openai.max_in_flight == 3


async def test_vllm_n_is_native(clean_env, fake_openai):
    clean_env.setenv("VLLM_BASE_URL", fake_openai.base_url)
    m = get_model("vllm/some-model", retry=FAST)
    out = await m.generate(HI, GenerateConfig(n=4))
    await m.aclose()
    assert len(out.choices) == 4 and len(fake_openai.requests) == 1 and fake_openai.requests[0].json["n"] == 4


async def test_compatible_server_that_ignores_n_is_topped_up(clean_env, fake_openai):
    clean_env.setenv("ACME_BASE_URL", fake_openai.base_url)
    fake_openai.ignore_n = True
    m = get_model("openai-api/acme/m1", retry=FAST)
    out = await m.generate(HI, GenerateConfig(n=3))
    await m.aclose()
    assert len(out.choices) == 3 and len({c.text for c in out.choices}) == 3
    assert [r.json.get("n") for r in fake_openai.requests] == [3, None, None]


def test_openai_api_needs_its_base_url(clean_env):
    with pytest.raises(ConfigError, match="MY_SVC_BASE_URL is not set"):
        get_model("openai-api/my-svc/some-model")
    with pytest.raises(ConfigError, match="openai-api/<service>/<model>"):
        get_model("openai-api/onlyservice")


def test_defaults_and_connection_keys(clean_env):
    assert get_model("ollama/x").backend.connection_key() == "http://localhost:11434/v1"
    assert get_model("vllm/x").backend.connection_key() == "http://localhost:8000/v1"
    assert get_model("llamacpp/x").backend.connection_key() == "http://localhost:8080/v1"
    clean_env.setenv("A_BASE_URL", "http://127.0.0.1:1/v1")
    clean_env.setenv("B_BASE_URL", "http://127.0.0.1:2/v1")
    keys = {get_model(f"openai-api/{s}/m").backend.connection_key() for s in "ab"}
    assert len(keys) == 2  # two servers never share one limit


async def test_unreachable_server_is_retried_then_named(clean_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        clean_env.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
        attempts = []
        m = get_model("vllm/x", retry=RetryPolicy(max_attempts=2, initial=0.01),
                      on_retry=lambda err, attempt, wait: attempts.append(attempt))
        with pytest.raises(ProviderError) as info:
            await m.generate(HI)
        await m.aclose()
    assert info.value.retryable and attempts == [1]
    assert isinstance(info.value, ProviderConfigError)  # the CLI ends it with exit code 2
    assert str(info.value) == (f"vllm/x: cannot connect to http://127.0.0.1:{port}/v1: "
                               "check VLLM_BASE_URL and that the server is running")


async def test_two_fake_servers_do_not_share_a_limit(clean_env, fake_openai):
    with FakeOpenAI(latency=0.05) as other:
        fake_openai.latency = 0.05
        clean_env.setenv("ONE_BASE_URL", fake_openai.base_url)
        clean_env.setenv("TWO_BASE_URL", other.base_url)
        import asyncio

        one = get_model("openai-api/one/m", max_connections=1, retry=FAST)
        two = get_model("openai-api/two/m", max_connections=1, retry=FAST)
        await asyncio.gather(*(one.generate(HI) for _ in range(3)), *(two.generate(HI) for _ in range(3)))
        await one.aclose()
        await two.aclose()
        assert fake_openai.max_in_flight == 1 and other.max_in_flight == 1
        assert len(fake_openai.requests) == 3 and len(other.requests) == 3
