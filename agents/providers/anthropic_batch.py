"""Anthropic's Message Batches for `AnthropicBackend`: ``messages.batches.create``, then
``retrieve`` until ``ended``, then ``results``. One request per sample (no n)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..batch import BatchClient, BatchRequest, BatchResults, BatchStatus
from ..errors import ProviderError
from ..types import Choice, Completion, Usage
from .anthropic_messages import FINISH


def _error(result: Any) -> str:
    if result.type == "errored":
        inner = getattr(result.error, "error", None)
        kind = getattr(inner, "type", "error")
        return f"provider batch: {kind}: {getattr(inner, 'message', '')}".rstrip(": ")
    return f"provider batch: request {result.type}"


class AnthropicBatches(BatchClient):
    kind = "anthropic"

    def __init__(self, backend, retry=None) -> None:
        super().__init__(backend, retry)
        self.client = backend._make_client()

    def body(self, request: BatchRequest) -> dict:
        return self.backend._params(request.messages, request.config)

    async def submit(self, requests: Sequence[BatchRequest], on_uploaded: Callable[[str], None] | None = None) -> str:
        batch = await self.call(lambda: self.client.messages.batches.create(
            requests=[{"custom_id": r.custom_id, "params": self.body(r)} for r in requests]))
        return batch.id

    async def status(self, batch_id: str) -> BatchStatus:
        batch = await self.call(lambda: self.client.messages.batches.retrieve(batch_id))
        c = batch.request_counts
        done = c.succeeded + c.errored + c.canceled + c.expired
        return BatchStatus(id=batch_id, status=batch.processing_status, done=done, total=done + c.processing,
                           ended=batch.processing_status == "ended", raw=batch)

    async def results(self, status: BatchStatus) -> BatchResults:
        out = BatchResults()
        rows = await self.call(lambda: self.client.messages.batches.results(status.id))
        async for row in rows:
            r = row.result
            if r.type == "succeeded":
                m = r.message
                text = "".join(getattr(b, "text", "") for b in m.content if b.type == "text")
                finish = FINISH.get(m.stop_reason or "", m.stop_reason)
                out.results[row.custom_id] = Completion(
                    model=self.backend.name, choices=[Choice(text=text, finish_reason=finish)],
                    usage=Usage(input_tokens=m.usage.input_tokens or 0, output_tokens=m.usage.output_tokens or 0))
            else:
                out.results[row.custom_id] = ProviderError(_error(r))
        return out

    async def aclose(self) -> None:
        await self.client.close()
