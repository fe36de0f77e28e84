"""The circuit breaker per endpoint, and base URLs checked at start-up."""

import json
import socket
import time

import pytest

from improv.agents.breaker import CircuitBreaker, ConnectionFailure
from improv.agents.endpoints import check_base_url, display_url
from improv.agents.errors import ConfigError, ProviderError
from improv.agents.model import Model
from improv.agents.retry import RetryPolicy, with_retries
from improv.cli import main
from tests.fakes.ports import dead_url
from tests.transcripts.replay_helpers import SlowBackend


class DeadBackend(SlowBackend):
    def __init__(self, name: str = "dead/x") -> None:
        super().__init__(name=name)

    async def generate(self, messages, config):
        self.calls.append(list(messages))
        raise ConnectionFailure(f"{self.name}: cannot connect")


async def test_breaker_opens_after_n_failures_and_fails_the_rest_fast(monkeypatch):
    monkeypatch.setenv("IMPROV_CIRCUIT_FAILURES", "5")
    backend = DeadBackend()
    model = Model(backend, retry=RetryPolicy(max_attempts=6, initial=0.001, maximum=0.001))
    reasons = set()
    for _ in range(50):
        with pytest.raises(ProviderError) as info:
            await model.generate([])
        reasons.add(str(info.value))
    assert len(backend.calls) == 5  # then nothing reaches the dead endpoint
    assert len(reasons) == 1 and "circuit open after 5 connection failures" in reasons.pop()


async def test_an_answer_resets_the_count_and_the_breaker_is_per_endpoint(monkeypatch):
    monkeypatch.setenv("IMPROV_CIRCUIT_FAILURES", "3")
    script = {"u": [ConnectionFailure("down"), ConnectionFailure("down"), ProviderError("busy", status=503, retryable=True),
                    ConnectionFailure("down"), ConnectionFailure("down"), None]}
    backend = SlowBackend(failures=script, name="flaky/x")
    model = Model(backend, retry=RetryPolicy(max_attempts=10, initial=0.001, maximum=0.001))
    from improv.agents.types import Message

    result = await model.generate([Message(role="user", content="u")])
    assert result.choices[0].text == "re: u" and len(backend.calls) == 6  # never three in a row
    other = Model(DeadBackend("dead/y"), retry=RetryPolicy(max_attempts=2, initial=0.001, maximum=0.001))
    for _ in range(3):
        with pytest.raises(ProviderError):
            await other.generate([])
    assert (await model.generate([Message(role="user", content="v")])).choices  # another endpoint: unaffected


def test_half_open_after_cooldown_and_closed_by_a_success():
    breaker = CircuitBreaker(threshold=2, cooldown=0.05)
    for _ in range(2):
        breaker.failed(ConnectionFailure("down"))
    with pytest.raises(ProviderError, match="circuit open"):
        breaker.check()
    time.sleep(0.06)
    breaker.check()  # one probe may go through
    breaker.succeeded()
    breaker.check()
    assert breaker.failures == 0


async def test_breaker_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("IMPROV_CIRCUIT_FAILURES", "0")
    backend = DeadBackend("dead/off")
    model = Model(backend, retry=RetryPolicy(max_attempts=3, initial=0.001, maximum=0.001))
    for _ in range(4):
        with pytest.raises(ProviderError, match="cannot connect"):
            await model.generate([])
    assert len(backend.calls) == 12
    monkeypatch.setenv("IMPROV_CIRCUIT_FAILURES", "many")
    with pytest.raises(ConfigError, match="IMPROV_CIRCUIT_FAILURES"):
        await model.generate([])


def test_300_conversations_against_a_dead_port_then_resume(clean_env, tmp_path, capsys, fake_openai):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}]}) + "\n" for i in range(300)))
    out = tmp_path / "out"
    clean_env.setenv("VLLM_BASE_URL", dead_url())
    started = time.monotonic()
    code = main(["replay", str(inputs), "-m", "vllm/x", "--out", str(out), "--json"])
    elapsed = time.monotonic() - started
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and elapsed < 15, elapsed
    failed = [c for c in summary["conversations"] if c["status"] == "failed"]
    assert len(failed) == 300 and len({c["error"] for c in failed}) == 1
    assert "VLLM_BASE_URL" in failed[0]["error"] and "circuit open" in failed[0]["error"]
    clean_env.setenv("VLLM_BASE_URL", fake_openai.base_url)  # the server is back: resumable
    assert main(["replay", str(inputs), "-m", "vllm/x", "--out", str(out), "--resume", "--retry-failed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["done"] == 300
    assert len((out / "results.jsonl").read_text().splitlines()) == 300


@pytest.mark.parametrize("value, match", [
    ("not a url", "not a URL"),
    ("ftp://example.com/v1", "expected an http:// or https:// URL"),
    ("http://127.0.0.1:99999/v1", "not a valid URL"),
    ("http:///v1", "names no host"),
    ("http://127.0.0.1:0/v1", "port 0"),
])
def test_a_bad_base_url_is_exit_2_naming_the_variable(clean_env, capsys, value, match):
    clean_env.setenv("OPENAI_API_KEY", "sk-test-SECRET")
    clean_env.setenv("OPENAI_BASE_URL", value)
    started = time.monotonic()
    assert main(["ask", "-m", "openai/gpt-x", "hi"]) == 2
    err = capsys.readouterr().err
    assert "OPENAI_BASE_URL" in err and match in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 5  # no retries


def test_anthropic_base_url_is_checked_too(clean_env, capsys):
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    clean_env.setenv("ANTHROPIC_BASE_URL", "gopher://x")
    assert main(["ask", "-m", "anthropic/claude-x", "hi"]) == 2
    assert "ANTHROPIC_BASE_URL" in capsys.readouterr().err


def test_a_url_query_string_is_never_echoed(clean_env, capsys):
    clean_env.setenv("VLLM_BASE_URL", dead_url() + "?api_key=QUERY-SECRET#frag")
    clean_env.setenv("IMPROV_CIRCUIT_FAILURES", "1")
    assert main(["ask", "-m", "vllm/x", "hi"]) == 2
    err = capsys.readouterr().err
    assert "QUERY-SECRET" not in err and "VLLM_BASE_URL" in err
    clean_env.setenv("VLLM_BASE_URL", "ftp://u:pw@host/v1?key=QUERY-SECRET")
    assert main(["ask", "-m", "vllm/x", "hi"]) == 2
    err = capsys.readouterr().err
    assert "QUERY-SECRET" not in err and "pw" not in err


def test_display_url_and_check_base_url():
    assert display_url("https://u:p@h.example:8443/v1?key=s#f") == "https://h.example:8443/v1"
    assert display_url("http://[::1/v1?key=s") == "http://[::1/v1"
    assert check_base_url("http://localhost:8000/v1", "X") == "http://localhost:8000/v1"


def test_a_server_that_accepts_and_never_answers_trips_the_breaker(clean_env, tmp_path, capsys):
    """Timeouts count as connection failures: 300 conversations end after the first timeouts."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1024)  # the kernel accepts; nobody ever reads or answers
    try:
        inputs = tmp_path / "in.jsonl"
        inputs.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}]}) + "\n"
                                  for i in range(300)))
        clean_env.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/v1")
        clean_env.setenv("IMPROV_TIMEOUT", "0.5")
        started = time.monotonic()
        code = main(["replay", str(inputs), "-m", "vllm/x", "--out", str(tmp_path / "out"), "--json"])
        elapsed = time.monotonic() - started
        failed = [c for c in json.loads(capsys.readouterr().out)["conversations"] if c["status"] == "failed"]
        assert code == 1 and elapsed < 15, elapsed
        assert len(failed) == 300 and len({c["error"] for c in failed}) == 1 and "timed out" in failed[0]["error"]
    finally:
        silent.close()
