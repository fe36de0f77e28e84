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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from improv.agents.batch import BatchClient, BatchRequest, BatchResults, BatchStatus
from improv.agents.errors import CapabilityError, ConfigError, ProviderError, SettingError
from improv.agents.text import first_line
from improv.agents.types import Choice, Completion, GenerateConfig, Message, Usage

from ..store import atomic_write
from .compare import Prices
from .inputs import ReplayItem
from .modes import ItemResult, Regenerate, Reply
from .runner import RunResult, prepare_out, read_results, run_lock, run_replay

STATE = "provider_batch.json"


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


def _save(out: Path, state: BatchState) -> None:
    atomic_write(out / STATE, state.model_dump_json(indent=1))


def build_requests(items: Sequence[ReplayItem], mode: Regenerate, native_n: bool, config: GenerateConfig
                   ) -> tuple[dict[str, tuple[str, int, int]], list[BatchRequest]]:
    """The request map and a `BatchRequest` for every turn to regenerate: one request with n = K
    where the API takes n, else K requests (sample s seeded seed + s)."""
    mapping: dict[str, tuple[str, int, int]] = {}
    requests: list[BatchRequest] = []
    for item in items:
        path = item.transcript.path()
        history = [Message(role=t.role, content=t.content) for t in path]
        for target in Regenerate.targets(path, mode.last_only):
            messages, _ = mode.messages(history[: target.index], target.recorded)
            if native_n:
                samples = [(0, config)]
            else:
                samples = [(s, config.model_copy(update={
                    "n": 1, "seed": None if config.seed is None else config.seed + s})) for s in range(config.n)]
            for s, cfg in samples:
                cid = f"r{len(mapping)}"
                mapping[cid] = (item.id, target.index, s)
                requests.append(BatchRequest(cid, messages, cfg))
    return mapping, requests


async def _submit(client: BatchClient, requests: list[BatchRequest], state: BatchState, out: Path) -> None:
    def uploaded(file_id: str) -> None:  # saved before the batch exists: a resume can find it
        state.input_file_id = file_id
        _save(out, state)

    state.batch_id = await client.submit(requests, on_uploaded=uploaded)
    state.status = "submitted"
    _save(out, state)


async def _poll(client: BatchClient, state: BatchState, poll_interval: float,
                on_status: Callable[[str], None] | None) -> BatchStatus:
    while True:
        status = await client.status(state.batch_id)
        state.batch_status = status.status
        if on_status is not None:
            on_status(f"{state.batch_id}: {status.status} {status.detail}".rstrip())
        if status.ended:
            return status
        await asyncio.sleep(poll_interval)


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
        raise SettingError("provider_batch", "works with the regenerate mode only")
    out = Path(out)
    with run_lock(out):  # one writer per folder, for the whole submit-poll-collect cycle
        return await _run_provider_batch(items, mode, out, resume=resume, retry_failed=retry_failed,
                                         run_info=run_info, prices=prices, poll_interval=poll_interval,
                                         on_progress=on_progress, on_record=on_record, on_status=on_status)


async def _run_provider_batch(items, mode, out: Path, *, resume, retry_failed, run_info, prices, poll_interval,
                              on_progress, on_record, on_status) -> RunResult:
    model = mode.model
    try:
        client = model.batches()
    except CapabilityError as err:
        raise SettingError("provider_batch", first_line(err)) from None
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
            raise SettingError("resume", f"{out} holds a batch for {state.model}, not {model.name}")

    try:
        if state is None or state.status == "collected" or (state.status == "building" and state.batch_id is None):
            records = read_results(out / "results.jsonl")
            finished = {r["id"] for r in records if r["status"] == "ok" or not retry_failed}
            pending = [it for it in items if it.id not in finished]
            mapping, requests = build_requests(pending, mode, client.native_n, config)
            state = BatchState(provider=client.kind, model=model.name, requests=mapping, items=[it.id for it in pending])
            if requests:
                _save(out, state)
                await _submit(client, requests, state, out)
        collected = BatchResults()
        if state.batch_id is not None and state.status == "submitted":
            collected = await client.results(await _poll(client, state, poll_interval, on_status))
    finally:
        await client.aclose()

    in_batch = set(state.items)
    by_item: dict[str, dict[int, list[tuple[int, str]]]] = {}
    for cid, (item_id, index, sample) in state.requests.items():
        by_item.setdefault(item_id, {}).setdefault(index, []).append((sample, cid))

    async def from_batch(item: ReplayItem) -> ItemResult:
        if collected.error is not None:
            raise collected.error
        path = item.transcript.path()
        history = [Message(role=t.role, content=t.content) for t in path]
        wanted = by_item.get(item.id, {})
        replies: list[Reply] = []
        for target in Regenerate.targets(path, mode.last_only):
            choices: list[Choice] = []
            usage = Usage()
            for _, cid in sorted(wanted.get(target.index, [])):
                got = collected.results.get(cid)
                if got is None:
                    raise ProviderError(f"provider batch: no result for request {cid}")
                if isinstance(got, ProviderError):
                    raise got
                choices.extend(got.choices)
                usage = usage + got.usage
            _, system = mode.messages(history[: target.index], target.recorded)
            reply = Reply(target, Completion(model=model.name, choices=choices, usage=usage), system)
            await mode.judge_reply(history[: target.index], reply)
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
