"""A fake Anthropic server: ``/v1/messages`` (JSON and SSE streaming) and ``/v1/models``, with
Anthropic's error JSON shape.

Like the real Messages API it requires ``max_tokens`` and the ``anthropic-version`` header,
refuses a ``system`` role inside ``messages`` (the system prompt is a top-level parameter) and,
like the API version that SDK 2.x speaks, sampling parameters (``temperature``, ``top_p``); it applies ``stop_sequences`` (``stop_reason`` ``stop_sequence``) and
``max_tokens`` (``max_tokens``). `message(body)` builds a full response body and is what any
other route (e.g. Message Batches) should reuse.

Run in the foreground: ``python -m tests.fakes.anthropic_server --port 8766 [--latency 0.1]``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .base import FakeServer, Failure, content_text, main, tokenize

__all__ = ["FakeAnthropic", "Failure"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    return value[7:] if value.startswith("Bearer ") else None


def system_text(system: Any) -> str:
    return content_text(system) if system is not None else ""


class FakeAnthropic(FakeServer):
    provider = "anthropic"

    def __init__(self, *, models: list[str] | None = None, **kwargs: Any) -> None:
        #: when set, other model names get a 404 ``not_found_error``
        self.models = models
        super().__init__(**kwargs)

    def default_routes(self):
        return [
            Route("/v1/messages", self.messages_endpoint, methods=["POST"]),
            Route("/v1/models", self.models_endpoint, methods=["GET"]),
        ]

    def error_body(self, status: int, message: str) -> dict:
        return {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
                "request_id": f"req_{uuid.uuid4().hex[:20]}"}

    def check_auth(self, headers: dict[str, str]) -> bool:
        # SDK 2.x sends the key as a bearer token; older clients send x-api-key.
        return self.api_key is None or self.api_key in (headers.get("x-api-key"), _bearer(headers))

    # -- request checks and reply building (reusable) -------------------------------------

    def validate(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, str] | None:
        if headers is not None and "anthropic-version" not in headers:
            return 400, "anthropic-version: header is required"
        if not isinstance(body, dict):
            return 400, "invalid JSON body"
        if not isinstance(body.get("model"), str):
            return 400, "model: Field required"
        if self.models is not None and body["model"] not in self.models:
            return 404, f"model: {body['model']}"
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            return 400, "max_tokens: Field required"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, "messages: at least one message is required"
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
                return 400, (f"messages.{i}.role: Input should be 'user' or 'assistant'"
                             " (use the top-level system parameter for a system prompt)")
            if not isinstance(m.get("content"), (str, list)):
                return 400, f"messages.{i}.content: Input should be a valid list"
        system = body.get("system")
        if system is not None and not isinstance(system, (str, list)):
            return 400, "system: Input should be a valid string"
        # The API version SDK 2.x speaks has no sampling parameters (nor n, logprobs, seed).
        for extra in ("temperature", "top_p", "top_k", "n", "logprobs", "seed"):
            if extra in body:
                return 400, f"{extra}: Extra inputs are not permitted"
        return None

    def sample(self, body: dict) -> dict:
        messages = body["messages"]
        if body.get("system") is not None:  # let reply functions see the system prompt too
            messages = [{"role": "system", "content": system_text(body["system"])}, *messages]
        text, reason, hit = self.truncate(self.reply_text(messages, body), body.get("stop_sequences"), body["max_tokens"])
        reason = {"stop": "end_turn", "stop_sequence": "stop_sequence", "length": "max_tokens"}[reason]
        return {"text": text, "stop_reason": reason, "stop_sequence": hit, "tokens": tokenize(text)}

    @staticmethod
    def input_tokens(body: dict) -> int:
        return len(tokenize(system_text(body.get("system")))) + sum(
            len(tokenize(content_text(m.get("content")))) for m in body["messages"])

    def message(self, body: dict) -> dict:
        """A full ``message`` body for a valid request."""
        s = self.sample(body)
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": s["text"]}],
            "stop_reason": s["stop_reason"],
            "stop_sequence": s["stop_sequence"],
            "usage": {"input_tokens": self.input_tokens(body), "output_tokens": len(s["tokens"])},
        }

    def message_events(self, body: dict):
        s = self.sample(body)

        def event(name: str, data: dict) -> str:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n"

        yield event("message_start", {"type": "message_start", "message": {
            "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": body["model"],
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens(body), "output_tokens": 1}}})
        yield event("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})
        yield event("ping", {"type": "ping"})
        for tok in s["tokens"]:
            yield event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": tok}})
        yield event("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": s["stop_reason"], "stop_sequence": s["stop_sequence"]},
                                      "usage": {"output_tokens": len(s["tokens"])}})
        yield event("message_stop", {"type": "message_stop"})

    # -- endpoints --------------------------------------------------------------------------

    async def messages_endpoint(self, request: Request) -> Response:
        record = request.scope["state"]["record"]
        problem = self.validate(record.json, record.headers)
        if problem is not None:
            return self.error_response(*problem)
        if record.json.get("stream"):
            return StreamingResponse(self.message_events(record.json), media_type="text/event-stream")
        return JSONResponse(self.message(record.json))

    async def models_endpoint(self, request: Request) -> Response:
        names = self.models or ["claude-fake"]
        return JSONResponse({"data": [{"type": "model", "id": n, "display_name": n, "created_at": "2025-01-01T00:00:00Z"}
                                      for n in names], "has_more": False, "first_id": names[0], "last_id": names[-1]})


if __name__ == "__main__":
    main(FakeAnthropic)
