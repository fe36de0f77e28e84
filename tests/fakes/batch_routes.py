"""Batch APIs for the fake servers: OpenAI Files + Batches, Anthropic Message Batches.

Install on a running (or not yet started) fake server::

    with FakeOpenAI() as srv:
        batches = install_openai_batches(srv, polls=2)
    with FakeAnthropic() as srv:
        batches = install_anthropic_batches(srv, polls=2)

A batch answers ``polls`` retrieves with an in-progress status, then runs every request
through the server's own reply logic (`FakeOpenAI.validate` / ``chat_completion``,
`FakeAnthropic.validate` / ``message``), so replies, stop sequences, token limits and 400s
behave as on the synchronous endpoints. Invalid requests become per-request errors, the way
the real APIs report them (OpenAI: the error file; Anthropic: an ``errored`` result).

Routes (OpenAI): ``POST /v1/files`` (multipart), ``GET /v1/files/{id}``,
``GET /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches/{id}``,
``POST /v1/batches/{id}/cancel``. (Anthropic): ``POST /v1/messages/batches``,
``GET /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """Parse a multipart/form-data body: name -> (filename, bytes). Enough for the SDKs."""
    boundary = None
    for part in content_type.split(";"):
        part = part.strip()
        if part.startswith("boundary="):
            boundary = part[len("boundary="):].strip('"')
    if not boundary:
        raise ValueError("no multipart boundary")
    out: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(b"--" + boundary.encode()):
        chunk = chunk.strip(b"\r\n")
        if not chunk or chunk == b"--":
            continue
        head, _, data = chunk.partition(b"\r\n\r\n")
        name = filename = None
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("content-disposition"):
                for item in line.split(";"):
                    key, _, value = item.strip().partition("=")
                    if key == "name":
                        name = value.strip('"')
                    elif key == "filename":
                        filename = value.strip('"')
        if name:
            out[name] = (filename, data)
    return out


@dataclass
class _FakeBatch:
    id: str
    data: dict[str, Any]
    requests: list[dict[str, Any]]
    polls_left: int
    results: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OpenAIBatches:
    """Files and Batches on a `FakeOpenAI`."""

    def __init__(self, server, *, polls: int = 1) -> None:
        self.server = server
        self.polls = polls
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.batches: dict[str, _FakeBatch] = {}
        self.created = 0  # batches created (a resumed run must not create another)
        server.add_route("/v1/files", self.upload, ["POST"])
        server.add_route("/v1/files/{file_id}", self.file_info, ["GET"])
        server.add_route("/v1/files/{file_id}/content", self.file_content, ["GET"])
        server.add_route("/v1/batches", self.create, ["POST"])
        server.add_route("/v1/batches/{batch_id}", self.retrieve, ["GET"])
        server.add_route("/v1/batches/{batch_id}/cancel", self.cancel, ["POST"])

    def _store(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        fid = f"file-{uuid.uuid4().hex[:24]}"
        info = {"id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                "filename": filename, "purpose": purpose, "status": "processed"}
        self.files[fid] = (info, content)
        return info

    async def upload(self, request: Request) -> Response:
        record = request.scope["state"]["record"]
        try:
            form = _multipart(record.body, record.headers.get("content-type", ""))
        except ValueError as err:
            return self.server.error_response(400, str(err))
        if "file" not in form:
            return self.server.error_response(400, "missing required parameter: 'file'")
        purpose = form.get("purpose", (None, b""))[1].decode()
        if purpose not in ("batch", "fine-tune", "assistants", "user_data", "evals", "vision"):
            return self.server.error_response(400, f"invalid purpose {purpose!r}")
        filename, content = form["file"]
        return JSONResponse(self._store(content, filename or "upload.jsonl", purpose))

    async def file_info(self, request: Request) -> Response:
        entry = self.files.get(request.path_params["file_id"])
        if entry is None:
            return self.server.error_response(404, "No such File object")
        return JSONResponse(entry[0])

    async def file_content(self, request: Request) -> Response:
        entry = self.files.get(request.path_params["file_id"])
        if entry is None:
            return self.server.error_response(404, "No such File object")
        return Response(entry[1], media_type="application/octet-stream")

    async def create(self, request: Request) -> Response:
        body = request.scope["state"]["record"].json or {}
        fid = body.get("input_file_id")
        if fid not in self.files:
            return self.server.error_response(400, f"input_file_id {fid!r} does not exist")
        if body.get("endpoint") != "/v1/chat/completions":
            return self.server.error_response(400, f"unsupported endpoint {body.get('endpoint')!r}")
        if body.get("completion_window") != "24h":
            return self.server.error_response(400, "completion_window must be '24h'")
        lines = []
        for n, line in enumerate(self.files[fid][1].decode().splitlines(), 1):
            if not line.strip():
                continue
            try:
                req = json.loads(line)
            except ValueError:
                return self.server.error_response(400, f"input file line {n} is not JSON")
            if not isinstance(req, dict) or "custom_id" not in req or req.get("url") != "/v1/chat/completions":
                return self.server.error_response(400, f"input file line {n}: needs custom_id and url /v1/chat/completions")
            lines.append(req)
        if len({r["custom_id"] for r in lines}) != len(lines):
            return self.server.error_response(400, "custom_id values must be unique")
        bid = f"batch_{uuid.uuid4().hex[:24]}"
        now = int(time.time())
        data = {"id": bid, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                "input_file_id": fid, "completion_window": "24h", "status": "validating",
                "output_file_id": None, "error_file_id": None, "created_at": now,
                "expires_at": now + 86400, "metadata": body.get("metadata"),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0}}
        self.batches[bid] = _FakeBatch(bid, data, lines, self.polls)
        self.created += 1
        return JSONResponse(data)

    def _finish(self, batch: _FakeBatch) -> None:
        out, err = [], []
        for req in batch.requests:
            body = req.get("body") or {}
            problem = self.server.validate(body)
            rid = f"batch_req_{uuid.uuid4().hex[:16]}"
            if problem is None:
                out.append({"id": rid, "custom_id": req["custom_id"], "error": None,
                            "response": {"status_code": 200, "request_id": rid,
                                         "body": self.server.chat_completion(body)}})
            else:
                status, message = problem
                err.append({"id": rid, "custom_id": req["custom_id"], "error": None,
                            "response": {"status_code": status, "request_id": rid,
                                         "body": self.server.error_body(status, message)}})
        data = batch.data
        data["request_counts"] = {"total": len(batch.requests), "completed": len(out), "failed": len(err)}
        data["status"] = "completed"
        data["completed_at"] = int(time.time())
        if out:
            data["output_file_id"] = self._store("".join(json.dumps(x) + "\n" for x in out).encode(),
                                                 f"{batch.id}_output.jsonl", "batch_output")["id"]
        if err:
            data["error_file_id"] = self._store("".join(json.dumps(x) + "\n" for x in err).encode(),
                                                f"{batch.id}_error.jsonl", "batch_output")["id"]

    async def retrieve(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self.server.error_response(404, "No such Batch object")
        if batch.data["status"] in ("validating", "in_progress"):
            if batch.polls_left > 0:
                batch.polls_left -= 1
                batch.data["status"] = "in_progress"
            else:
                self._finish(batch)
        return JSONResponse(batch.data)

    async def cancel(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self.server.error_response(404, "No such Batch object")
        batch.data["status"] = "cancelled"
        return JSONResponse(batch.data)


class AnthropicBatches:
    """Message Batches on a `FakeAnthropic`."""

    def __init__(self, server, *, polls: int = 1) -> None:
        self.server = server
        self.polls = polls
        self.batches: dict[str, _FakeBatch] = {}
        self.created = 0
        server.add_route("/v1/messages/batches", self.create, ["POST"])
        server.add_route("/v1/messages/batches/{batch_id}", self.retrieve, ["GET"])
        server.add_route("/v1/messages/batches/{batch_id}/results", self.results, ["GET"])

    @staticmethod
    def _iso(dt: datetime) -> str:
        return dt.isoformat().replace("+00:00", "Z")

    async def create(self, request: Request) -> Response:
        body = request.scope["state"]["record"].json or {}
        reqs = body.get("requests")
        if not isinstance(reqs, list) or not reqs:
            return self.server.error_response(400, "requests: a non-empty list is required")
        ids = [r.get("custom_id") for r in reqs if isinstance(r, dict)]
        if len(ids) != len(reqs) or any(not isinstance(i, str) or not i for i in ids):
            return self.server.error_response(400, "every request needs a custom_id and params")
        if len(set(ids)) != len(ids):
            return self.server.error_response(400, "custom_id values must be unique within a batch")
        bid = f"msgbatch_{uuid.uuid4().hex[:24]}"
        now = datetime.now(timezone.utc)
        data = {"id": bid, "type": "message_batch", "processing_status": "in_progress",
                "request_counts": {"processing": len(reqs), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
                "ended_at": None, "created_at": self._iso(now), "expires_at": self._iso(now + timedelta(days=1)),
                "archived_at": None, "cancel_initiated_at": None, "results_url": None}
        self.batches[bid] = _FakeBatch(bid, data, reqs, self.polls)
        self.created += 1
        return JSONResponse(data)

    def _finish(self, batch: _FakeBatch) -> None:
        results = []
        ok = bad = 0
        for req in batch.requests:
            params = req.get("params") or {}
            problem = self.server.validate(params)
            if problem is None:
                results.append({"custom_id": req["custom_id"],
                                "result": {"type": "succeeded", "message": self.server.message(params)}})
                ok += 1
            else:
                status, message = problem
                results.append({"custom_id": req["custom_id"],
                                "result": {"type": "errored", "error": self.server.error_body(status, message)}})
                bad += 1
        batch.results = results
        data = batch.data
        data["processing_status"] = "ended"
        data["ended_at"] = self._iso(datetime.now(timezone.utc))
        data["request_counts"] = {"processing": 0, "succeeded": ok, "errored": bad, "canceled": 0, "expired": 0}
        data["results_url"] = f"{self.server.root_url}/v1/messages/batches/{batch.id}/results"

    async def retrieve(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self.server.error_response(404, "batch not found")
        if batch.data["processing_status"] == "in_progress":
            if batch.polls_left > 0:
                batch.polls_left -= 1
            else:
                self._finish(batch)
        return JSONResponse(batch.data)

    async def results(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None or batch.results is None:
            return self.server.error_response(404, "results are not available for this batch yet")
        text = "".join(json.dumps(r) + "\n" for r in reversed(batch.results))  # order is not promised
        return Response(text.encode(), media_type="application/binary")


def install_openai_batches(server, *, polls: int = 1) -> OpenAIBatches:
    return OpenAIBatches(server, polls=polls)


def install_anthropic_batches(server, *, polls: int = 1) -> AnthropicBatches:
    return AnthropicBatches(server, polls=polls)
