"""``--provider-batch``: regenerate through OpenAI's Batch API or Anthropic's Message Batches.

For very large replays the providers' batch endpoints are cheaper and have their own rate
limits. The flow:

1. build one request per regenerated turn (OpenAI: ``n`` = K in one request when the backend
   has native n; Anthropic: K requests), with the backend's own request builder, so a batch
   asks exactly what the synchronous path would;
2. save ``provider_batch.json`` in the output folder (the request map custom_id -> item, turn,
   sample), submit (OpenAI: upload a JSONL file with ``files.create(purpose="batch")``, then
   ``batches.create``; Anthropic: ``messages.batches.create``), and save the batch id at once;
3. poll (``batches.retrieve`` / ``messages.batches.retrieve``) until the batch ends;
4. download the results (OpenAI: ``files.content`` of the output and error files; Anthropic:
   ``messages.batches.results``) and hand them, conversation by conversation, to the ordinary
   runner, so the outputs (``results.jsonl`` with the new transcripts, ``summary.json``), the
   failure records and ``--resume`` are the same as for a live replay.

Resuming: a run killed while the batch is out finds the batch id in ``provider_batch.json``
and goes back to polling it: nothing is submitted twice. (Killed between ``batches.create`` and
saving its id, a batch would be orphaned and resubmitted; the window is one HTTP round trip.)
A collected batch is marked so; a later ``--resume`` only submits what is still not done.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError, ProviderError
from improv.agents.retry import with_retries
from improv.agents.types import Choice, Completion, GenerateConfig, Message, Usage

from ..store import atomic_write
from .compare import Prices
from .inputs import ReplayItem
from .modes import ItemResult, Regenerate, _Reply
from .runner import RunResult, prepare_out, read_results, run_lock, run_replay

STATE = "provider_batch.json"
OPENAI_ENDPOINT = "/v1/chat/completions"
_ANTHROPIC_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


class BatchState(BaseModel):
    provider: Literal["openai", "anthropic"]
    model: str
    status: str = Field("building", description="building, submitted, collected")
    batch_id: str | None = None
    input_file_id: str | None = None
    #: custom_id -> [item id, turn index, first sample index]
    requests: dict[str, tuple[str, int, int]] = Field(default_factory=dict)
    #: the conversations this batch is for (some may have no request: recorded as failures)
    items: list[str] = Field(default_factory=list)
    created: float = Field(default_factory=time.time)
    batch_status: str | None = None


def _kind(backend) -> Literal["openai", "anthropic"]:
    from improv.agents.providers.anthropic_messages import AnthropicBackend
    from improv.agents.providers.openai_chat import OpenAIChatBackend

    if isinstance(backend, OpenAIChatBackend):
        return "openai"
    if isinstance(backend, AnthropicBackend):
        return "anthropic"
    raise ConfigError(f"--provider-batch: {backend.name} has no batch API (use an openai/... or anthropic/... model)")


def _save(out: Path, state: BatchState) -> None:
    atomic_write(out / STATE, state.model_dump_json(indent=1))


class _Sdk:
    """SDK calls with the backend's error mapping and the model's retry policy."""

    def __init__(self, model) -> None:
        self.backend = model.backend
        self.retry = model.retry
        self.client = self.backend._make_client()

    async def __call__(self, fn: Callable[[], Any]) -> Any:
        async def attempt():
            try:
                return await fn()
            except Exception as err:
                mapped = self.backend._error(err)
                if mapped is err:
                    raise
                raise mapped from None

        return await with_retries(attempt, self.retry)

    async def close(self) -> None:
        await self.client.close()


def build_requests(items: Sequence[ReplayItem], mode: Regenerate, kind: str, config: GenerateConfig
                   ) -> tuple[dict[str, tuple[str, int, int]], list[tuple[str, dict[str, Any]]]]:
    """The request map and ``(custom_id, params)`` for every turn to regenerate."""
    backend = mode.model.backend
    native_n = kind == "openai" and backend.capabilities.native_n
    one = config.model_copy(update={"n": 1})
    mapping: dict[str, tuple[str, int, int]] = {}
    bodies: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        path = item.transcript.path()
        history = [Message(role=t.role, content=t.content) for t in path]
        for target in Regenerate.targets(path, mode.last_only):
            messages, _ = mode.messages(history[: target.index], target.recorded)
            params = backend._params(messages, one)
            if native_n:
                if config.n > 1:
                    params["n"] = config.n
                samples = [0]
            else:
                samples = list(range(config.n))
            for s in samples:
                p = dict(params)
                if s and config.seed is not None and "seed" in p:
                    p["seed"] = config.seed + s
                cid = f"r{len(mapping)}"
                mapping[cid] = (item.id, target.index, s)
                bodies.append((cid, p))
    return mapping, bodies


async def _submit(sdk: _Sdk, kind: str, bodies: list[tuple[str, dict[str, Any]]], state: BatchState, out: Path) -> None:
    client = sdk.client
    if kind == "openai":
        data = "".join(
            json.dumps({"custom_id": cid, "method": "POST", "url": OPENAI_ENDPOINT, "body": body}) + "\n"
            for cid, body in bodies
        ).encode()
        uploaded = await sdk(lambda: client.files.create(file=("improv-replay.jsonl", data), purpose="batch"))
        state.input_file_id = uploaded.id
        _save(out, state)
        batch = await sdk(lambda: client.batches.create(
            input_file_id=uploaded.id, endpoint=OPENAI_ENDPOINT, completion_window="24h",
            metadata={"created_by": "improv replay"}))
    else:
        batch = await sdk(lambda: client.messages.batches.create(
            requests=[{"custom_id": cid, "params": body} for cid, body in bodies]))
    state.batch_id = batch.id
    state.status = "submitted"
    _save(out, state)


async def _poll(sdk: _Sdk, kind: str, state: BatchState, poll_interval: float,
                on_status: Callable[[str], None] | None) -> Any:
    client = sdk.client
    while True:
        if kind == "openai":
            batch = await sdk(lambda: client.batches.retrieve(state.batch_id))
            status = batch.status
            counts = batch.request_counts
            detail = f"{counts.completed + counts.failed}/{counts.total}" if counts else ""
            ended = status in ("completed", "failed", "expired", "cancelled")
        else:
            batch = await sdk(lambda: client.messages.batches.retrieve(state.batch_id))
            status = batch.processing_status
            c = batch.request_counts
            done = c.succeeded + c.errored + c.canceled + c.expired
            detail = f"{done}/{done + c.processing}"
            ended = status == "ended"
        state.batch_status = status
        if on_status is not None:
            on_status(f"{state.batch_id}: {status} {detail}".rstrip())
        if ended:
            return batch
        await asyncio.sleep(poll_interval)


def _anthropic_error(result: Any) -> str:
    if result.type == "errored":
        inner = getattr(result.error, "error", None)
        kind = getattr(inner, "type", "error")
        return f"provider batch: {kind}: {getattr(inner, 'message', '')}".rstrip(": ")
    return f"provider batch: request {result.type}"


async def _collect(sdk: _Sdk, kind: str, batch: Any, model_name: str
                   ) -> dict[str, tuple[list[Choice], Usage] | ProviderError]:
    out: dict[str, tuple[list[Choice], Usage] | ProviderError] = {}
    client = sdk.client
    backend = sdk.backend
    if kind == "openai":
        from openai.types.chat import ChatCompletion

        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await sdk(lambda fid=file_id: client.files.content(fid))
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                response = row.get("response") or {}
                status = response.get("status_code")
                body = response.get("body") or {}
                if status == 200 and row.get("error") is None:
                    resp = ChatCompletion.model_validate(body)
                    choices = [backend._choice(c) for c in sorted(resp.choices, key=lambda c: c.index)]
                    out[row["custom_id"]] = (choices, backend._usage(resp))
                else:
                    err = row.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
                    message = err.get("message", "") if isinstance(err, dict) else str(err)
                    out[row["custom_id"]] = ProviderError(f"provider batch: request refused ({status}): {message}",
                                                          status=status)
        if batch.status != "completed" and not out:
            errors = getattr(getattr(batch, "errors", None), "data", None) or []
            reason = "; ".join(e.message or "" for e in errors if getattr(e, "message", None)) or batch.status
            return {"*": ProviderError(f"provider batch {batch.status}: {reason}")}
    else:
        results = await sdk(lambda: client.messages.batches.results(batch.id))
        async for row in results:
            r = row.result
            if r.type == "succeeded":
                m = r.message
                text = "".join(getattr(b, "text", "") for b in m.content if b.type == "text")
                finish = _ANTHROPIC_FINISH.get(m.stop_reason or "", m.stop_reason)
                out[row.custom_id] = ([Choice(text=text, finish_reason=finish)],
                                      Usage(input_tokens=m.usage.input_tokens or 0,
                                            output_tokens=m.usage.output_tokens or 0))
            else:
                out[row.custom_id] = ProviderError(_anthropic_error(r))
    return out


async def run_provider_batch(
    items: Sequence[ReplayItem],
    mode: Regenerate,
    out: Path | str,
    *,
    resume: bool = False,
    retry_failed: bool = False,
    run_info: dict[str, Any] | None = None,
    prices: Prices | None = None,
    poll_interval: float = 30.0,
    on_progress=None,
    on_record=None,
    on_status: Callable[[str], None] | None = None,
) -> RunResult:
    """Regenerate ``items`` through the provider's batch API into ``out`` (see module doc)."""
    if not isinstance(mode, Regenerate):
        raise ConfigError("--provider-batch works with --mode regenerate only")
    out = Path(out)
    with run_lock(out):  # one writer per folder, for the whole submit-poll-collect cycle
        return await _run_provider_batch(items, mode, out, resume=resume, retry_failed=retry_failed,
                                         run_info=run_info, prices=prices, poll_interval=poll_interval,
                                         on_progress=on_progress, on_record=on_record, on_status=on_status)


async def _run_provider_batch(items, mode, out: Path, *, resume, retry_failed, run_info, prices, poll_interval,
                              on_progress, on_record, on_status) -> RunResult:
    model = mode.model
    kind = _kind(model.backend)
    info = dict(run_info or {})
    info.setdefault("mode", mode.name)
    info["provider_batch"] = True
    prepare_out(out, info, resume=resume)
    config = model.config.merged(mode.config)
    model.backend.check(config)

    state: BatchState | None = None
    if resume and (out / STATE).exists():
        try:
            state = BatchState.model_validate_json((out / STATE).read_text(encoding="utf-8"))
        except ValueError as err:
            raise ConfigError(f"{out / STATE}: not a provider batch state file: {err}") from None
        if state.model != model.name:
            raise ConfigError(f"--resume: {out} holds a batch for {state.model}, not {model.name}")

    sdk = _Sdk(model)
    try:
        if state is None or state.status == "collected" or (state.status == "building" and state.batch_id is None):
            records = read_results(out / "results.jsonl")
            finished = {r["id"] for r in records if r["status"] == "ok" or not retry_failed}
            pending = [it for it in items if it.id not in finished]
            mapping, bodies = build_requests(pending, mode, kind, config)
            state = BatchState(provider=kind, model=model.name, requests=mapping, items=[it.id for it in pending])
            if bodies:
                _save(out, state)
                await _submit(sdk, kind, bodies, state, out)
        collected: dict[str, Any] = {}
        if state.batch_id is not None and state.status == "submitted":
            batch = await _poll(sdk, kind, state, poll_interval, on_status)
            collected = await _collect(sdk, kind, batch, model.name)
    finally:
        await sdk.close()

    in_batch = set(state.items)
    by_item: dict[str, dict[int, list[tuple[int, str]]]] = {}
    for cid, (item_id, index, sample) in state.requests.items():
        by_item.setdefault(item_id, {}).setdefault(index, []).append((sample, cid))

    async def from_batch(item: ReplayItem) -> ItemResult:
        if "*" in collected:
            raise collected["*"]
        path = item.transcript.path()
        history = [Message(role=t.role, content=t.content) for t in path]
        wanted = by_item.get(item.id, {})
        replies: list[_Reply] = []
        for target in Regenerate.targets(path, mode.last_only):
            choices: list[Choice] = []
            usage = Usage()
            for _, cid in sorted(wanted.get(target.index, [])):
                got = collected.get(cid)
                if got is None:
                    raise ProviderError(f"provider batch: no result for request {cid}")
                if isinstance(got, ProviderError):
                    raise got
                choices.extend(got[0])
                usage = usage + got[1]
            _, system = mode.messages(history[: target.index], target.recorded)
            reply = _Reply(target, Completion(model=model.name, choices=choices, usage=usage), system)
            await mode._judge(history[: target.index], reply)
            replies.append(reply)
        if not replies:
            raise ValueError("the conversation has no turn to reply to")
        return ItemResult(mode.record(item, replies), mode.transcript(item, path, replies))

    batch_items = [it for it in items if it.id in in_batch]
    result = await run_replay(
        batch_items, from_batch, out, resume=True, retry_failed=retry_failed, models=[m for m in [mode.judge] if m],
        run_info=info, prices=prices, on_progress=on_progress, on_record=on_record, locked=True,
    )
    if state.batch_id is not None:
        state.status = "collected"
        _save(out, state)
    # the summary covers the whole folder (earlier runs too), and every item asked for
    result.progress.total = len(items)
    return result
