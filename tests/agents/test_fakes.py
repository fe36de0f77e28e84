"""The fake servers themselves: the drop is a real socket close, routes extend, the foreground
entry point serves."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.responses import JSONResponse

from tests.fakes.base import Failure
from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]


def raw_post(port: int, path: str, body: dict) -> bytes:
    payload = json.dumps(body).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks) and b"content-length" in b"".join(chunks).lower():
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(rest) >= length:
                    return b"".join(chunks)


def test_drop_closes_the_socket_without_a_response(fake_openai):
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    fake_openai.fail_next(["drop"])
    assert raw_post(fake_openai.port, "/v1/chat/completions", body) == b""
    answer = raw_post(fake_openai.port, "/v1/chat/completions", body)
    assert answer.startswith(b"HTTP/1.1 200")


def test_error_bodies_have_the_provider_shape(fake_openai, fake_anthropic):
    fake_openai.fail_next([Failure(429, retry_after=2)])
    r = httpx.post(f"{fake_openai.base_url}/chat/completions", json={})
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.json()["error"]["type"] == "requests" and r.json()["error"]["code"] == "rate_limit_exceeded"
    fake_anthropic.fail_next([529])
    r = httpx.post(f"{fake_anthropic.base_url}/messages", json={})
    assert r.status_code == 529 and r.json()["type"] == "error"
    assert r.json()["error"]["type"] == "overloaded_error"


def test_failure_rate_is_seeded_and_only_hits_posts(fake_openai):
    fake_openai.failure_rate = 0.5
    fake_openai.rng.seed(1)
    assert httpx.get(f"{fake_openai.base_url}/models").status_code == 200  # GET: never fails
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    statuses = []
    for _ in range(20):
        try:
            statuses.append(httpx.post(f"{fake_openai.base_url}/chat/completions", json=body).status_code)
        except httpx.HTTPError:
            statuses.append("drop")
    assert 0 < statuses.count(200) < 20 and len(fake_openai.injected) == 20 - statuses.count(200)


def test_routes_extend_and_reuse_the_reply_logic(fake_openai):
    async def batch(request):  # what a batch module would do: reuse chat_completion()
        body = await request.json()
        return JSONResponse({"results": [fake_openai.chat_completion(b) for b in body["requests"]]})

    fake_openai.add_route("/v1/test-batch", batch, methods=["POST"])
    try:
        fake_openai.replies = ["first", "second"]
        req = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        r = httpx.post(f"{fake_openai.base_url}/test-batch", json={"requests": [req, req, req]})
        texts = [res["choices"][0]["message"]["content"] for res in r.json()["results"]]
        assert texts == ["first", "second", "first"]
    finally:
        fake_openai.routes.pop()


def test_foreground_entry_point_serves(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.openai_server", "--port", "0", "--reply", "pong"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        base_url = line.split(" on ")[1].split()[0]
        r = httpx.post(f"{base_url}/chat/completions",
                       json={"model": "m", "messages": [{"role": "user", "content": "ping"}]}, timeout=10)
        assert r.json()["choices"][0]["message"]["content"] == "pong"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_private_server_starts_and_stops():
    with FakeOpenAI(replies="x") as srv:
        assert httpx.get(f"{srv.base_url}/models").json()["data"][0]["id"] == "gpt-fake"
        port = srv.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
