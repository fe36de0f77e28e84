"""The machinery both fake servers share: a Starlette app served by uvicorn on loopback in a
background thread, request recording, injected latency and failures.

The fakes exist so the backends are tested through the real ``openai`` and ``anthropic`` SDKs,
over real HTTP. Failures are injected *around* the routes, in a raw ASGI wrapper, so that every
route (including ones a subclass or another module adds later, such as batch APIs) can be made
to fail the same way:

- ``429`` / ``500`` / any status: an error body in the provider's own JSON shape
  (``Failure(429, retry_after=0.01)`` adds a ``Retry-After`` header);
- ``"drop"``: the socket is closed without a response (the app returns a non-``None`` value,
  which uvicorn answers by closing the transport);
- ``"malformed"``: 200 with a truncated JSON body;
- ``"slow:0.2"``: the request is held 0.2 s, then answered normally (for client timeouts);
- ``"cut:3"``: the response starts, 3 body chunks (e.g. SSE events) go out, then the
  connection closes mid-response.

The server does no blocking work per request and logs to memory only, so a benchmark with
thousands of requests measures the client.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

# Tokens for the fakes: a word with the whitespace before it, so joining tokens gives the text.
_TOKEN = re.compile(r"\s*\S+|\s+$")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def fake_logprob(token: str, rank: int = 0) -> float:
    """A deterministic log-probability for a token (rank 0 is the chosen token)."""
    base = -(sum(token.encode()) % 97) / 40.0 - 0.01
    return round(base - 1.5 * rank, 4)


@dataclass(frozen=True)
class Failure:
    """One injected failure: an HTTP status (with optional Retry-After) or a kind."""

    status: int | None = None
    retry_after: float | None = None
    kind: str = "status"  # status | drop | malformed | slow | cut
    seconds: float = 0.0  # slow: the delay; cut: body chunks sent before the connection closes

    @classmethod
    def parse(cls, spec: "Failure | int | str") -> "Failure":
        if isinstance(spec, Failure):
            return spec
        if isinstance(spec, int):
            return cls(status=spec)
        text = str(spec).strip()
        if text == "drop":
            return cls(kind="drop")
        if text == "malformed":
            return cls(kind="malformed")
        if text.startswith("slow:"):
            return cls(kind="slow", seconds=float(text[5:]))
        if text.startswith("cut:"):
            return cls(kind="cut", seconds=float(text[4:]))
        status, _, after = text.partition(":")
        if status.isdigit():
            return cls(status=int(status), retry_after=float(after) if after else None)
        raise ValueError(f"unknown failure spec {spec!r}")


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    time: float = field(default_factory=time.monotonic)


class _Drop(Exception):
    pass


class _Quiet(logging.Filter):
    """Hide uvicorn's complaint about the deliberate connection drop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "should return None" not in record.getMessage()


def _no_delay_h11():
    """uvicorn's h11 protocol with TCP_NODELAY on each connection.

    uvicorn leaves Nagle's algorithm on for sockets it is handed, and h11 writes a response's
    head and body separately: on a kept-alive connection the body then waits for the client's
    delayed ACK, about 40 ms per request. Measured: 45 ms -> under 1 ms per request.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class NoDelayH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
            super().connection_made(transport)

    return NoDelayH11Protocol


def free_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class FakeServer:
    """Base of the fake provider servers. Use as a context manager::

        with FakeOpenAI() as srv:
            srv.base_url, srv.requests, srv.replies = [...], srv.fail_next([429, "drop"])
    """

    #: the provider name used in ``python -m`` help and error messages
    provider = "fake"
    #: the path prefix the SDK appends to the base URL (``/v1`` for both providers)
    api_prefix = "/v1"

    def __init__(
        self,
        *,
        replies: "Callable[[list[dict], dict], str] | str | Iterable[str] | None" = None,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        seed: int = 0,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = 4096,
        record: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.backlog = backlog
        self.latency = latency
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)
        #: failures drawn at ``failure_rate``
        self.random_failures: list[Failure] = [Failure(429, retry_after=0.0), Failure(500), Failure(kind="drop")]
        #: when set, requests must carry this key (else 401 in the provider's shape)
        self.api_key = api_key
        #: paths subject to failure injection; ``None`` means every POST
        self.fail_paths: set[str] | None = None
        self.record = record
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0
        self._epoch = 0
        self.injected: list[Failure] = []
        self._failures: collections.deque[Failure] = collections.deque()
        self._reply_counter = itertools.count(1)
        self._cycle: Iterable[str] | None = None
        self._reply_fn: Callable[[list[dict], dict], str] | None = None
        self.replies = replies
        self.app = Starlette(routes=self.default_routes())
        #: the live route list: append to it (or call ``add_route``) to extend the server
        self.routes: list[BaseRoute] = self.app.router.routes
        self._server = None
        self._thread: threading.Thread | None = None

    # -- configuration ------------------------------------------------------------------

    @property
    def replies(self):
        return self._reply_fn or self._cycle

    @replies.setter
    def replies(self, value) -> None:
        self._reply_fn = None
        self._cycle = None
        if value is None:
            return
        if callable(value):
            self._reply_fn = value
        elif isinstance(value, str):
            self._reply_fn = lambda messages, body, _v=value: _v
        else:
            items = list(value)
            if not items:
                raise ValueError("replies: empty list")
            self._cycle = itertools.cycle(items)

    def fail_next(self, failures: "Iterable[Failure | int | str]") -> None:
        """Queue failures for the next eligible requests, in order."""
        self._failures.extend(Failure.parse(f) for f in failures)

    def add_route(self, path: str, endpoint, methods: list[str] | None = None) -> None:
        """Add a route (works before or after the server starts)."""
        self.routes.append(Route(path, endpoint, methods=methods))

    def reset(self) -> None:
        self.requests.clear()
        self.injected.clear()
        self._failures.clear()
        # Requests still running from before the reset no longer count.
        self._epoch += 1
        self.in_flight = 0
        self.max_in_flight = 0
        self.served = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.api_prefix}"

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def requests_to(self, path_suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    # -- what subclasses provide --------------------------------------------------------

    def default_routes(self) -> list[BaseRoute]:
        return []

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"message": message, "status": status}}

    def check_auth(self, headers: dict[str, str]) -> bool:
        return True

    # -- reply logic, reusable by any route -----------------------------------------------

    def reply_text(self, messages: list[dict], body: dict) -> str:
        """The text of one sample for a request (before stop sequences and token limits)."""
        if self._reply_fn is not None:
            return self._reply_fn(messages, body)
        if self._cycle is not None:
            return next(self._cycle)  # type: ignore[call-overload]
        last_user = next((content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        return f"Echo: {last_user} (#{next(self._reply_counter)})"

    @staticmethod
    def truncate(text: str, stop: list[str] | None, max_tokens: int | None) -> tuple[str, str, str | None]:
        """Apply stop sequences, then the token limit. Returns (text, reason, stop_hit) where
        reason is ``stop`` (natural end), ``stop_sequence`` or ``length``."""
        reason, hit = "stop", None
        cut = len(text)
        for s in stop or []:
            i = text.find(s)
            if s and i != -1 and i < cut:
                cut, hit = i, s
        if hit is not None:
            text, reason = text[:cut], "stop_sequence"
        tokens = tokenize(text)
        if max_tokens is not None and len(tokens) > max_tokens:
            text, reason, hit = "".join(tokens[:max_tokens]), "length", None
        return text, reason, hit

    def error_response(self, status: int, message: str, retry_after: float | None = None) -> Response:
        headers = {}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
            headers["retry-after-ms"] = f"{retry_after * 1000:g}"
        return JSONResponse(self.error_body(status, message), status_code=status, headers=headers)

    # -- the ASGI wrapper: recording, latency, failures -----------------------------------

    def _next_failure(self, method: str, path: str) -> Failure | None:
        eligible = path in self.fail_paths if self.fail_paths is not None else method == "POST"
        if not eligible:
            return None
        if self._failures:
            return self._failures.popleft()
        if self.failure_rate and self.rng.random() < self.failure_rate:
            return self.rng.choice(self.random_failures)
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        parsed: Any = None
        if body and "json" in headers.get("content-type", ""):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        record = Recorded(scope["method"], scope["path"], headers, parsed, body)
        if self.record:
            self.requests.append(record)
        scope.setdefault("state", {})["record"] = record

        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        epoch = self._epoch
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            failure = self._next_failure(scope["method"], scope["path"])
            if failure is not None:
                self.injected.append(failure)
                if failure.kind == "drop":
                    return "drop"  # uvicorn closes the transport without a response
                if failure.kind == "malformed":
                    response: Response = Response(b'{"id": "broken", "choices": [{"index": 0, "mess',
                                                  media_type="application/json")
                    return await response(scope, replay, send)
                if failure.kind == "slow":
                    await asyncio.sleep(failure.seconds)
                elif failure.status is not None:
                    response = self.error_response(failure.status, f"injected failure {failure.status}",
                                                   failure.retry_after)
                    return await response(scope, replay, send)
            if scope["path"].startswith(self.api_prefix + "/") and not self.check_auth(headers):
                return await self.error_response(401, "invalid authentication")(scope, replay, send)
            if failure is not None and failure.kind == "cut":
                left = int(failure.seconds)

                async def cut_send(message):
                    nonlocal left
                    if message["type"] == "http.response.body":
                        if left <= 0:
                            return  # swallowed: the connection closes below
                        left -= 1
                        message = {**message, "more_body": True}
                    await send(message)

                await self.app(scope, replay, cut_send)
                return "cut"  # non-None: uvicorn closes the half-sent response's transport
            await self.app(scope, replay, send)
            self.served += 1
        finally:
            if epoch == self._epoch:
                self.in_flight -= 1
        return None

    # -- running ----------------------------------------------------------------------------

    def _config(self, *, log_level: str):
        import uvicorn

        return uvicorn.Config(
            self,
            host=self.host,
            port=self.port,
            backlog=self.backlog,
            loop="asyncio",
            http=_no_delay_h11(),
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            date_header=False,
            access_log=False,
            log_config=None,
            log_level=log_level,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
        )

    def start(self) -> "FakeServer":
        import uvicorn

        logging.getLogger("uvicorn.error").addFilter(_Quiet())
        sock = free_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(self._config(log_level="critical"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"fake-{self.provider}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake {self.provider} server did not start")
            time.sleep(0.005)
        self._sock = sock
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the foreground (``python -m tests.fakes.<provider>_server``)."""
        import uvicorn

        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("uvicorn.error").addFilter(_Quiet())
        sock = free_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        # listen before saying where: a client that reads the URL and connects at once is queued
        # until uvicorn accepts, instead of refused while uvicorn is still starting
        sock.listen(128)
        print(f"fake {self.provider} server on {self.base_url} (Ctrl-C stops)", flush=True)
        uvicorn.Server(self._config(log_level="info")).run(sockets=[sock])


def content_text(content: Any) -> str:
    """Text of a message content: a string, or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def bad_request(server: FakeServer, message: str) -> Response:
    return server.error_response(400, message)


def main(server_cls: type[FakeServer], argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"run the fake {server_cls.provider} server in the foreground")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of POSTs that fail (429/500/drop)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reply", default=None, help="fixed reply text (default: echo)")
    parser.add_argument("--no-record", action="store_true", help="do not keep requests in memory")
    args = parser.parse_args(argv)
    server = server_cls(host=args.host, port=args.port, latency=args.latency, failure_rate=args.failure_rate,
                        seed=args.seed, replies=args.reply, record=not args.no_record)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
