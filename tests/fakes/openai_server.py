"""A fake OpenAI-compatible server: ``/v1/chat/completions`` (JSON and SSE streaming) and
``/v1/models``, with OpenAI's error JSON shape.

Samples come from `FakeServer.reply_text`; stop sequences and ``max_completion_tokens`` /
``max_tokens`` are applied as the real API does (``finish_reason`` ``stop`` or ``length``); token
logprobs are deterministic functions of the token. `chat_completion(body)` builds a full
response body and is what any other route (e.g. a batch API) should reuse.

Run in the foreground: ``python -m tests.fakes.openai_server --port 8765 [--latency 0.1]``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .base import FakeServer, Failure, content_text, fake_logprob, main, tokenize

__all__ = ["FakeOpenAI", "Failure"]

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ROLES = {"system", "developer", "user", "assistant", "tool"}


class FakeOpenAI(FakeServer):
    provider = "openai"

    def __init__(self, *, models: list[str] | None = None, **kwargs: Any) -> None:
        #: when set, other model names get a 404 ``model_not_found``
        self.models = models
        #: behave like servers that ignore ``n`` and always return one choice
        self.ignore_n = False
        super().__init__(**kwargs)

    def default_routes(self):
        return [
            Route("/v1/chat/completions", self.chat_completions_endpoint, methods=["POST"]),
            Route("/v1/models", self.models_endpoint, methods=["GET"]),
        ]

    def error_body(self, status: int, message: str) -> dict:
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def check_auth(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    # -- request checks and reply building (reusable) -------------------------------------

    def validate(self, body: Any) -> tuple[int, str] | None:
        """``(status, message)`` for a request the real API would refuse, else ``None``."""
        if not isinstance(body, dict):
            return 400, "We could not parse the JSON body of your request."
        if not isinstance(body.get("model"), str):
            return 400, "you must provide a model parameter"
        if self.models is not None and body["model"] not in self.models:
            return 404, f"The model `{body['model']}` does not exist or you do not have access to it."
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, "[] is too short - 'messages'"
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in _ROLES:
                return 400, f"Invalid value for 'messages[{i}].role'."
            if not isinstance(m.get("content"), (str, list)):
                return 400, f"Invalid type for 'messages[{i}].content'."
        if "max_tokens" in body and "max_completion_tokens" in body:
            return 400, "max_tokens and max_completion_tokens cannot both be set"
        t = body.get("temperature")
        if t is not None and not (0 <= t <= 2):
            return 400, f"Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got {t} instead."
        if body.get("top_logprobs") is not None and not body.get("logprobs"):
            return 400, "Invalid value for 'top_logprobs': logprobs must be set to true"
        n = body.get("n", 1) or 1
        if not isinstance(n, int) or not 1 <= n <= 128:
            return 400, f"Invalid 'n': expected an integer in 1..128, got {n!r}"
        return None

    def sample(self, body: dict) -> dict:
        """One sample: text, finish_reason, tokens and (if asked) logprob entries."""
        stop = body.get("stop")
        stop = [stop] if isinstance(stop, str) else stop
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        text, reason, _ = self.truncate(self.reply_text(body["messages"], body), stop, limit)
        tokens = tokenize(text)
        logprobs = None
        if body.get("logprobs"):
            k = body.get("top_logprobs") or 0
            logprobs = [self.logprob_entry(tok, k) for tok in tokens]
        return {"text": text, "finish_reason": "length" if reason == "length" else "stop",
                "tokens": tokens, "logprobs": logprobs}

    def choice_count(self, body: dict) -> int:
        return 1 if self.ignore_n else (body.get("n") or 1)

    @staticmethod
    def logprob_entry(token: str, top: int) -> dict:
        alternatives = [token] + [f" alt{r}" for r in range(1, top)]
        return {
            "token": token,
            "logprob": fake_logprob(token),
            "bytes": list(token.encode()),
            "top_logprobs": [
                {"token": alt, "logprob": fake_logprob(token, r), "bytes": list(alt.encode())}
                for r, alt in enumerate(alternatives[:top])
            ],
        }

    @staticmethod
    def prompt_tokens(body: dict) -> int:
        return sum(len(tokenize(content_text(m.get("content")))) for m in body["messages"])

    def chat_completion(self, body: dict) -> dict:
        """A full ``chat.completion`` body for a valid request."""
        samples = [self.sample(body) for _ in range(self.choice_count(body))]
        prompt = self.prompt_tokens(body)
        completion = sum(len(s["tokens"]) for s in samples)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": s["text"], "refusal": None},
                    "logprobs": {"content": s["logprobs"], "refusal": None} if s["logprobs"] is not None else None,
                    "finish_reason": s["finish_reason"],
                }
                for i, s in enumerate(samples)
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }

    def chat_chunks(self, body: dict):
        """The ``chat.completion.chunk`` events of a streamed reply, then ``[DONE]``."""
        samples = [self.sample(body) for _ in range(self.choice_count(body))]
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body["model"], "system_fingerprint": "fp_fake"}

        def chunk(choices, usage=None):
            event = {**head, "choices": choices}
            if include_usage:
                event["usage"] = usage
            return f"data: {json.dumps(event)}\n\n"

        for i, s in enumerate(samples):
            yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}])
            for j, tok in enumerate(s["tokens"]):
                lp = {"content": [s["logprobs"][j]], "refusal": None} if s["logprobs"] is not None else None
                yield chunk([{"index": i, "delta": {"content": tok}, "logprobs": lp, "finish_reason": None}])
            yield chunk([{"index": i, "delta": {}, "logprobs": None, "finish_reason": s["finish_reason"]}])
        if include_usage:
            prompt = self.prompt_tokens(body)
            completion = sum(len(s["tokens"]) for s in samples)
            yield chunk([], {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
        yield "data: [DONE]\n\n"

    # -- endpoints --------------------------------------------------------------------------

    async def chat_completions_endpoint(self, request: Request) -> Response:
        body = request.scope["state"]["record"].json
        problem = self.validate(body)
        if problem is not None:
            return self.error_response(*problem)
        if body.get("stream"):
            return StreamingResponse(self.chat_chunks(body), media_type="text/event-stream")
        return JSONResponse(self.chat_completion(body))

    async def models_endpoint(self, request: Request) -> Response:
        names = self.models or ["gpt-fake"]
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names]})


if __name__ == "__main__":
    main(FakeOpenAI)
