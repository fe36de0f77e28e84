"""OpenAI's Batch API for `OpenAIChatBackend` (``openai/`` models): the requests go up as one
JSONL file (``files.create(purpose="batch")``), then ``batches.create``; results come back as
the output and error files."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from ..batch import BatchClient, BatchRequest, BatchResults, BatchStatus
from ..errors import ProviderError
from ..types import Completion

ENDPOINT = "/v1/chat/completions"
_ENDED = ("completed", "failed", "expired", "cancelled")


class OpenAIBatches(BatchClient):
    kind = "openai"

    def __init__(self, backend, retry=None) -> None:
        super().__init__(backend, retry)
        self.client = backend._make_client()

    @property
    def native_n(self) -> bool:
        return self.backend.capabilities.native_n

    def body(self, request: BatchRequest) -> dict:
        """The request body, exactly as the synchronous path would send it."""
        params = self.backend._params(request.messages, request.config)
        if request.config.n > 1:
            params["n"] = request.config.n
        return params

    async def submit(self, requests: Sequence[BatchRequest], on_uploaded: Callable[[str], None] | None = None) -> str:
        data = "".join(
            json.dumps({"custom_id": r.custom_id, "method": "POST", "url": ENDPOINT, "body": self.body(r)}) + "\n"
            for r in requests
        ).encode()
        uploaded = await self.call(lambda: self.client.files.create(file=("improv-replay.jsonl", data), purpose="batch"))
        if on_uploaded is not None:
            on_uploaded(uploaded.id)
        batch = await self.call(lambda: self.client.batches.create(
            input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h",
            metadata={"created_by": "improv replay"}))
        return batch.id

    async def status(self, batch_id: str) -> BatchStatus:
        batch = await self.call(lambda: self.client.batches.retrieve(batch_id))
        counts = batch.request_counts
        return BatchStatus(id=batch_id, status=batch.status, ended=batch.status in _ENDED, raw=batch,
                           done=counts.completed + counts.failed if counts else None,
                           total=counts.total if counts else None)

    async def results(self, status: BatchStatus) -> BatchResults:
        from openai.types.chat import ChatCompletion

        batch = status.raw
        backend = self.backend
        out = BatchResults()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self.call(lambda fid=file_id: self.client.files.content(fid))
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                response = row.get("response") or {}
                code = response.get("status_code")
                body = response.get("body") or {}
                if code == 200 and row.get("error") is None:
                    resp = ChatCompletion.model_validate(body)
                    choices = [backend._choice(c) for c in sorted(resp.choices, key=lambda c: c.index)]
                    out.results[row["custom_id"]] = Completion(model=backend.name, choices=choices,
                                                               usage=backend._usage(resp))
                else:
                    err = row.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
                    message = err.get("message", "") if isinstance(err, dict) else str(err)
                    out.results[row["custom_id"]] = ProviderError(
                        f"provider batch: request refused ({code}): {message}", status=code)
        if batch.status != "completed" and not out.results:
            errors = getattr(getattr(batch, "errors", None), "data", None) or []
            reason = "; ".join(e.message or "" for e in errors if getattr(e, "message", None)) or batch.status
            out.error = ProviderError(f"provider batch {batch.status}: {reason}")
        return out

    async def aclose(self) -> None:
        await self.client.close()
