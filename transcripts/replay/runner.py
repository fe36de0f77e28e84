"""The asynchronous replay runner: many conversations, losing nothing.

Layout of an output folder::

    run.json          what was replayed (mode, model, options), checked on --resume
    results.jsonl     one record per finished conversation, append-only; a replayed
                      conversation's new transcript (kind "replay", source = the original's
                      path or path:line) is inside its record, under "transcript"
    summary.json      per conversation and overall, rewritten at the end of every run

`replayed_transcripts(out)` reads the new transcripts back; `export_transcripts(out, dir)`
writes them as ordinary transcript files (``improv replay export``). They are not written as
one file each during the run because creating a file costs 0.1-0.6 ms on this machine's disk
(measured: 2,000 files in 0.8-1.3 s, against 4 ms for 2,000 appends), a third of what a
whole request costs the client at high concurrency.

Durability (why a finished item is never lost and never duplicated):

1. A record (with its transcript) is appended to ``results.jsonl`` with a single ``write(2)``
   on a file opened ``O_APPEND``, so the line reaches the kernel whole before the item is
   reported done (``on_record``/``on_progress``). A killed process (SIGKILL, Ctrl-C, crash)
   cannot lose it: the page cache belongs to the kernel, not to the process.
2. ``fsync`` (which guards against a power cut or kernel crash, not a killed process) costs
   ~0.26 ms here, 0.5 s over 2,000 items, so it runs at most once per ``fsync_interval``
   seconds (default 1 s) and at the end. After a power cut at most the last second of records
   can be missing; ``--resume`` simply redoes them, never counts them twice. A record torn by a
   power cut (a last line without its newline, or not JSON) is cut off on resume.
3. ``--resume`` reads ``results.jsonl``, skips every id that has a record, and appends. A
   conversation in flight when the run died has no record, so it runs again. So the set of
   records after kill + resume is the set an uninterrupted run makes, each id once.

Failures: a `ProviderError` that the retry policy gives up on (400, 401, a context overflow,
retries exhausted), or any other error in one conversation, becomes a ``"failed"`` record with
the reason, and the run goes on. ``--resume`` does not retry failed items unless
``retry_failed`` is set; then the later record wins in the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from improv.agents.errors import ConfigError, ProviderError, SettingError
from improv.agents.model import Model

from ..store import atomic_write
from .compare import Prices, Summary, summarize
from .inputs import ReplayItem
from .modes import ItemResult

if TYPE_CHECKING:
    from ..schema import Transcript

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
RUN = "run.json"
LOCK = ".lock"  # flock'ed while a run writes the folder; holds the writer's pid

_current_item: contextvars.ContextVar[str | None] = contextvars.ContextVar("improv_replay_item", default=None)


@dataclass
class Progress:
    """Live counters, handed to ``on_progress`` (the same object each time: copy if kept)."""

    total: int = 0
    skipped: int = 0  # already done in an earlier run (--resume)
    done: int = 0
    failed: int = 0
    retries: int = 0  # retry attempts so far
    retrying_items: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)

    @property
    def retrying(self) -> int:
        """Conversations in flight that have needed at least one retry."""
        return len(self.retrying_items)

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "skipped": self.skipped, "done": self.done, "failed": self.failed,
                "retrying": self.retrying, "retries": self.retries, "elapsed": round(self.elapsed, 3)}


@dataclass
class RunResult:
    summary: Summary
    progress: Progress
    out: Path

    def __repr__(self) -> str:  # compact: asyncio reprs a finished task's result, and a summary can be long
        o = self.summary.overall
        return f"RunResult(out={str(self.out)!r}, done={o.done}, failed={o.failed})"

    @property
    def failed(self) -> int:
        return self.summary.overall.failed

    @property
    def exit_code(self) -> int:
        """0 when every conversation is done, 1 when any failed."""
        return 1 if self.summary.overall.failed else 0


def replayed_transcripts(out: Path | str) -> list[tuple[dict[str, Any], "Transcript"]]:
    """(record, new transcript) for every done conversation of a replay folder (last record per id)."""
    from ..schema import Transcript
    from .compare import latest

    pairs = []
    for record in latest(read_results(Path(out) / RESULTS)).values():
        data = record.get("transcript")
        if record.get("status") == "ok" and isinstance(data, dict):
            pairs.append((record, Transcript.model_validate(data)))
    return pairs


def export_transcripts(out: Path | str, directory: Path | str) -> list[Path]:
    """Write the new transcripts of a replay folder as transcript files in ``directory``."""
    from ..store import save

    return [save(t, path=Path(directory) / f"{safe_name(rec['id'])}.json") for rec, t in replayed_transcripts(out)]


def safe_name(item_id: str) -> str:
    """A file name for an item id (ids from JSONL can hold anything)."""
    name = re.sub(r"[^A-Za-z0-9._~-]", "_", item_id)[:120]
    if name != item_id:
        import hashlib

        name = f"{name}-{hashlib.sha1(item_id.encode()).hexdigest()[:8]}"
    return name


def _lineno(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def read_results(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """Records of ``results.jsonl``. With ``repair``, a torn tail (a last line without its
    newline or not JSON, left by a power cut) is cut off so appends start on a clean line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records: list[dict[str, Any]] = []
    good_end = 0
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break  # torn last line
        line = data[pos:nl]
        if line.strip():
            try:
                rec = json.loads(line)
            except ValueError:
                if nl + 1 < len(data):  # a bad line in the middle: not ours to guess at
                    raise ConfigError(f"{path}: line {_lineno(data, pos)} is not valid JSON") from None
                break
            if not isinstance(rec, dict) or "id" not in rec or "status" not in rec:
                raise ConfigError(f"{path}: line {_lineno(data, pos)} is not a replay record")
            records.append(rec)
        pos = good_end = nl + 1
    if repair and good_end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return records


class ResultsLog:
    """Append-only JSONL: one ``write(2)`` per record on an ``O_APPEND`` descriptor, so each
    record is in the kernel when `append` returns; ``fsync`` at most every ``fsync_interval``
    seconds (0: after every record) and on close."""

    def __init__(self, path: Path, fsync_interval: float = 1.0) -> None:
        self.path = path
        self.fsync_interval = fsync_interval
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._last_sync = time.monotonic()
        self._dirty = False
        self._pending = None  # a background fsync in flight (a Future)

    def append(self, record: dict[str, Any]) -> None:
        self.append_line(json.dumps(record, ensure_ascii=False, separators=(",", ":")))

    def append_line(self, line: str) -> None:
        """Append one JSON line (without its newline)."""
        data = (line + "\n").encode()
        view = memoryview(data)
        while view:  # a regular file takes it in one go; loop only for pathological cases
            n = os.write(self._fd, view)
            view = view[n:]
        self._dirty = True
        if self.fsync_interval <= 0:
            self.sync()
        elif time.monotonic() - self._last_sync >= self.fsync_interval:
            self._sync_in_background()

    def _sync_in_background(self) -> None:
        """fsync in a worker thread (it releases the GIL), so the event loop never waits on the
        disk; one at a time. Only durability against power loss depends on it (see above)."""
        self._last_sync = time.monotonic()
        if self._pending is not None and not self._pending.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.sync()
            return
        self._dirty = False
        self._pending = loop.run_in_executor(None, os.fsync, self._fd)

    def sync(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_sync = time.monotonic()

    async def aclose(self) -> None:
        if self._pending is not None:
            try:
                await self._pending
            except OSError:
                pass
            self._pending = None
        self._dirty = True  # whatever the background sync may have missed
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


@contextlib.contextmanager
def run_lock(out: Path):
    """Hold the folder's lock for one run: a second run on the same folder (another process,
    or another task in this one) is refused in one line instead of writing every record twice.

    ``flock`` is released by the kernel when the holder dies, even by SIGKILL, so a killed run
    never leaves a stale lock for ``--resume`` to trip over; the lock file itself stays.
    """
    if out.exists() and not out.is_dir():
        raise SettingError("out", "is a file, not a folder; name a folder for the replay's results", str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise SettingError("out", f"cannot create the run folder: {err.strerror or err}", str(out)) from None
    try:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                raise SettingError("out", f"another replay (pid {holder}) is writing to this folder; "
                                   "wait for it to finish, or choose another $out", str(out)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def inputs_fingerprint(items: Sequence[ReplayItem]) -> dict[str, Any]:
    """What ``--resume`` compares: the set of conversation ids (not the paths, which a user
    may spell differently between runs)."""
    digest = hashlib.sha256("\n".join(sorted(it.id for it in items)).encode()).hexdigest()
    return {"count": len(items), "sha256": digest[:16]}


def compact_results(path: Path) -> int:
    """Keep only the last record of each id in ``results.jsonl`` (after ``--retry-failed``),
    rewritten atomically, so no reader ever sees two records for one conversation. Returns
    the number of records dropped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    lines = [line for line in data.split(b"\n") if line.strip()]
    last: dict[str, int] = {}
    for i, line in enumerate(lines):
        last[json.loads(line)["id"]] = i
    if len(last) == len(lines):
        return 0
    keep = sorted(last.values())
    atomic_write(path, "".join(lines[i].decode("utf-8") + "\n" for i in keep))
    return len(lines) - len(keep)


def _reason(err: BaseException) -> str:
    if isinstance(err, ProviderError):
        status = f"status {err.status}" if err.status else "provider error"
        return f"{status}: {err}"
    if isinstance(err, ConfigError):
        return f"config: {err}"
    if isinstance(err, ValueError):
        return f"input: {err}"
    return f"error: {type(err).__name__}: {err}"


def prepare_out(out: Path, run_info: dict[str, Any], *, resume: bool) -> list[dict[str, Any]]:
    """Create the output folder, or check it on ``--resume``; return the existing records."""
    results = out / RESULTS
    run_file = out / RUN
    if results.exists() and results.stat().st_size and not resume:
        raise SettingError("out", "already holds replay results; pass $resume to continue them, or choose another $out",
                           str(out))
    if resume and run_file.exists():
        try:
            old = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if "items" in old and "items" in run_info and old["items"] != run_info["items"]:
            raise SettingError(
                "resume", f"{out} was a replay of {old['items'].get('count')} other conversations; these inputs "
                f"hold {run_info['items']['count']} with different ids: use the same inputs, or another $out"
            )
        for key in ("mode", "model", "persona", "k", "last_only", "config"):
            if key in old and key in run_info and old[key] != run_info[key]:
                raise SettingError(
                    "resume", f"{out} was a replay with {key}={old[key]!r}, not {run_info[key]!r}; "
                    "use the same options or another $out"
                )
    out.mkdir(parents=True, exist_ok=True)
    if not (resume and run_file.exists()):
        atomic_write(run_file, json.dumps(run_info, indent=1, default=str))
    if not resume:
        return []
    records = read_results(results, repair=True)
    if compact_results(results):  # a --retry-failed run killed before its own compaction
        records = read_results(results)
    return records


async def run_replay(
    items: Sequence[ReplayItem],
    mode: Callable[[ReplayItem], Any],
    out: Path | str,
    *,
    concurrency: int = 16,
    resume: bool = False,
    retry_failed: bool = False,
    models: Sequence[Model] = (),
    run_info: dict[str, Any] | None = None,
    prices: Prices | None = None,
    fsync_interval: float = 1.0,
    on_progress: Callable[[Progress], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    locked: bool = False,
) -> RunResult:
    """Replay ``items`` with ``mode`` into ``out``; see the module docstring for the contract.

    The folder is locked for the run (`run_lock`); ``locked`` says the caller holds it already.

    ``models``: the models the mode calls; the run subscribes to their events so the progress
    counts retries. ``concurrency`` caps the conversations in flight; requests per endpoint are
    capped by each `Model`'s own ``max_connections``.
    """
    out = Path(out)
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        from collections import Counter

        dup = next(i for i, n in Counter(ids).items() if n > 1)
        raise ConfigError(f"replay: conversation id {dup!r} appears twice in the inputs (ids must be unique)")
    if not locked:  # checked first: refused inputs leave no folder behind
        with run_lock(out):
            return await run_replay(
                items, mode, out, concurrency=concurrency, resume=resume, retry_failed=retry_failed, models=models,
                run_info=run_info, prices=prices, fsync_interval=fsync_interval, on_progress=on_progress,
                on_record=on_record, locked=True)
    info = dict(run_info or {})
    info.setdefault("mode", getattr(mode, "name", type(mode).__name__))
    info.setdefault("items", inputs_fingerprint(items))
    existing = prepare_out(out, info, resume=resume)
    finished = {r["id"] for r in existing if r["status"] == "ok" or not retry_failed}
    pending = [it for it in items if it.id not in finished]
    progress = Progress(total=len(items), skipped=len(items) - len(pending))
    records: list[dict[str, Any]] = list(existing)

    from improv.agents.model import RetryEvent

    def on_event(event) -> None:
        if not isinstance(event, RetryEvent):
            return
        progress.retries += 1
        item_id = _current_item.get()
        if item_id is not None:
            progress.retrying_items.add(item_id)
        if on_progress is not None:
            on_progress(progress)

    # each model reports its retries through its event hook, for as long as the run lasts
    subscriptions = [m.subscribe(on_event) for m in {id(m): m for m in models if m is not None}.values()]

    log = ResultsLog(out / RESULTS, fsync_interval)

    def finish(item: ReplayItem, result: ItemResult | None, error: BaseException | None, started: float) -> None:
        if error is None and result is not None:
            record = {"id": item.id, "origin": item.origin, "status": "ok", **result.record}
        else:
            record = {"id": item.id, "origin": item.origin, "status": "failed", "error": _reason(error),
                      "mode": info["mode"]}
        record["seconds"] = round(time.monotonic() - started, 4)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        if result is not None and result.transcript is not None:
            # the new transcript rides in its record: one write, so never one without the other
            line = line[:-1] + ',"transcript":' + result.transcript.model_dump_json() + "}"
        log.append_line(line)
        records.append(record)
        if record["status"] == "ok":
            progress.done += 1
        else:
            progress.failed += 1
        progress.retrying_items.discard(item.id)
        if on_record is not None:
            on_record(record)
        if on_progress is not None:
            on_progress(progress)

    queue = iter(pending)

    async def worker() -> None:
        for item in queue:
            _current_item.set(item.id)
            started = time.monotonic()
            try:
                result = await mode(item)
            except Exception as err:  # one conversation's failure is recorded; the run goes on
                finish(item, None, err, started)
            else:
                finish(item, result, None, started)

    if on_progress is not None:
        on_progress(progress)
    try:
        n = max(1, min(concurrency, len(pending)))
        if pending:
            await asyncio.gather(*(worker() for _ in range(n)))
    finally:
        await log.aclose()
        for sub in subscriptions:
            sub.close()
        if retry_failed:
            compact_results(out / RESULTS)
        summary = summarize(records, prices)
        atomic_write(out / SUMMARY, summary.model_dump_json(indent=1))
    return RunResult(summary=summary, progress=progress, out=out)
