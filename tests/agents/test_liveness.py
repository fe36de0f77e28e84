"""A server that accepts connections and never answers fails in seconds, clearly, not after
IMPROV_TIMEOUT per request; a slow reply from a live server is left alone."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from improv.agents.backend import Backend
from improv.agents.liveness import SilentServer
from improv.agents.model import Model
from improv.agents.registry import get_model
from improv.agents.types import Choice, Completion, Message
from improv.cli import main

HI = [Message(role="user", content="hi")]


class SilentSocket:
    """Accepts every connection, reads nothing, answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.accepted:
            c.close()


@pytest.fixture
def silent(clean_env):
    server = SilentSocket()
    clean_env.setenv("VLLM_BASE_URL", f"http://127.0.0.1:{server.port}/v1")
    clean_env.setenv("IMPROV_FIRST_BYTE_TIMEOUT", "0.2")
    clean_env.setenv("IMPROV_TIMEOUT", "120")
    yield server
    server.close()


async def test_a_silent_server_fails_fast_and_then_at_once(silent):
    model = get_model("vllm/x")
    # the guard only turns a hang into a failure; the point is the error, not the time
    with pytest.raises(SilentServer) as err:
        await asyncio.wait_for(model.generate(HI), 60)
    message = str(err.value)
    assert "accepted the connection but sent nothing for 0.2 s" in message and "VLLM_BASE_URL" in message
    opened = len(silent.accepted)
    assert opened == 2  # the request and one status request
    with pytest.raises(SilentServer):
        await model.generate(HI)
    assert len(silent.accepted) == opened  # the verdict holds: nothing more is sent for a while
    await model.aclose()


async def test_a_silent_server_fails_a_stream_too(silent):
    model = get_model("vllm/x")
    with pytest.raises(SilentServer):
        await asyncio.wait_for(model.stream(HI).__anext__(), 60)
    await model.aclose()


def test_the_cli_says_so_in_one_line(silent, capsys):
    assert main(["ask", "-m", "vllm/x", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not answer a status request" in err


class SlowBackend(Backend):
    """A live server (the fake's /v1/models answers) whose replies take longer than the wait."""

    name = "slow/x"

    def __init__(self, url: str) -> None:
        self.url = url
        self.calls = 0

    def connection_key(self) -> str:
        return self.url

    def liveness_url(self) -> str:
        return f"{self.url}/models"

    async def generate(self, messages, config):
        self.calls += 1
        await asyncio.sleep(0.4)
        return Completion(model=self.name, choices=[Choice(text="late but fine")])


async def test_a_slow_reply_from_a_live_server_is_waited_for(fake_openai, monkeypatch):
    monkeypatch.setenv("IMPROV_FIRST_BYTE_TIMEOUT", "0.1")
    backend = SlowBackend(fake_openai.base_url)
    model = Model(backend)
    assert (await model.generate(HI)).text == "late but fine"
    assert (await model.generate(HI)).text == "late but fine"
    probes = [r for r in fake_openai.requests if r.method == "GET" and r.path == "/v1/models"]
    assert len(probes) == 1 and "authorization" not in probes[0].headers  # asked once, and no key sent
