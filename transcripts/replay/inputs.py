"""What a replay reads: transcript files, folders, globs, and OpenAI-style messages JSONL.

Every conversation becomes a `ReplayItem` with a stable id (the transcript id, or for a JSONL
line its ``custom_id``/``id`` field or ``<file stem>-<line>``), so ``--resume`` can tell what
is done. Ids that repeat across inputs get a ``~2``, ``~3`` suffix in input order.
"""

from __future__ import annotations

import glob as _glob
from dataclasses import dataclass
from pathlib import Path

from ..errors import TranscriptError
from ..schema import Transcript, Turn
from ..store import load, resolve


@dataclass
class ReplayItem:
    id: str
    transcript: Transcript
    origin: str  # file path, or "path:line" for a JSONL line


def _content(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: keep the text ones
        parts = []
        for part in value:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise TranscriptError(f"{where}: content part of type {kind!r} is not supported (text only)")
        return "".join(parts)
    if value is None:
        return ""
    raise TranscriptError(f"{where}: message content must be a string or a list of text parts")


def messages_to_transcript(messages: list, *, id: str, where: str, meta: dict | None = None) -> Transcript:
    """A linear transcript from OpenAI-style ``[{"role", "content"}, ...]``."""
    if not isinstance(messages, list) or not messages:
        raise TranscriptError(f"{where}: expected a non-empty list of messages")
    t = Transcript(id=id, kind="imported", title="", meta=dict(meta or {}))
    parent = None
    system = None
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise TranscriptError(f"{where}: message {i} is not an object")
        role = m.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant"):
            raise TranscriptError(f"{where}: message {i} has unsupported role {role!r}")
        content = _content(m.get("content"), f"{where}: message {i}")
        if role == "system":
            system = content if system is None else system + "\n\n" + content
        turn = Turn(parent=parent, role=role, content=content,
                    system_prompt=system if role == "assistant" else None)
        t.turns.append(turn)
        parent = turn.id
    t.active = parent
    first_user = next((x.content for x in t.turns if x.role == "user"), "")
    t.title = first_user[:60]
    return t


def read_jsonl(path: Path) -> list[ReplayItem]:
    """One conversation per line: ``{"messages": [...]}``, a bare list of messages, or an OpenAI
    Batch API input line (``{"custom_id", "body": {"messages": [...]}}``)."""
    from improv.personas import budget

    items: list[ReplayItem] = []
    try:
        fh = path.open("rb")  # bytes: a bad byte or an endless line is reported with its line number
    except OSError as err:
        raise TranscriptError(f"{path}: cannot read: {err.strerror or err}") from None
    with fh:
        for lineno, raw in enumerate(iter(lambda: fh.readline(budget.JSONL_LINE_BYTES + 1), b""), 1):
            where = f"{path}, line {lineno}"
            if len(raw) > budget.JSONL_LINE_BYTES:
                raise TranscriptError(f"{where}: line longer than {budget.JSONL_LINE_BYTES} bytes; improv refuses it")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise TranscriptError(f"{where}, byte {err.start + 1}: not UTF-8 text") from None
            if not line.strip():
                continue
            data = budget.json_loads(line, TranscriptError, str(path), line=lineno)
            budget.json_depth_ok(data, TranscriptError, where)
            meta: dict = {}
            if isinstance(data, list):
                messages, ident = data, None
            elif isinstance(data, dict):
                body = data.get("body") if isinstance(data.get("body"), dict) else data
                messages = body.get("messages")
                ident = data.get("custom_id") or data.get("id")
                if isinstance(data.get("metadata"), dict):
                    meta = data["metadata"]
            else:
                raise TranscriptError(f"{where}: expected an object with 'messages' or a list of messages")
            if messages is None:
                raise TranscriptError(f"{where}: no 'messages' field")
            item_id = str(ident) if ident not in (None, "") else f"{path.stem}-{lineno}"
            t = messages_to_transcript(messages, id=item_id, where=where, meta=meta)
            items.append(ReplayItem(id=item_id, transcript=t, origin=f"{path}:{lineno}"))
    return items


def expand(inputs: list[str]) -> list[Path]:
    """Files named by paths, folders (``*.json`` and ``*.jsonl`` inside, sorted), globs and
    transcript ids in the store."""
    paths: list[Path] = []
    for spec in inputs:
        p = Path(spec)
        if any(ch in spec for ch in "*?["):
            matches = sorted(_glob.glob(spec, recursive=True))
            if not matches:
                raise TranscriptError(f"{spec}: the pattern matches no file")
            paths.extend(Path(m) for m in matches if Path(m).is_file())
        elif p.is_dir():
            found = sorted(x for x in p.iterdir() if x.is_file() and x.suffix in (".json", ".jsonl"))
            if not found:
                raise TranscriptError(f"{p}: folder holds no .json or .jsonl file")
            paths.extend(found)
        elif p.is_file():
            paths.append(p)
        elif "/" not in spec and p.suffix not in (".json", ".jsonl"):
            try:  # a transcript id (or unique prefix) in the store, as every command takes
                paths.append(resolve(spec))
            except TranscriptError:
                raise TranscriptError(f"{spec}: no such file, folder, pattern or transcript id") from None
        else:
            raise TranscriptError(f"{spec}: no such file, folder or pattern")
    return paths


def load_inputs(inputs: list[str]) -> list[ReplayItem]:
    """Every conversation the inputs name, in order, with unique ids."""
    items: list[ReplayItem] = []
    for path in expand(inputs):
        if path.suffix == ".jsonl":
            items.extend(read_jsonl(path))
        else:
            t = load(path)
            items.append(ReplayItem(id=t.id, transcript=t, origin=str(path)))
    seen: dict[str, int] = {}
    for item in items:
        n = seen.get(item.id, 0) + 1
        seen[item.id] = n
        if n > 1:
            item.id = f"{item.id}~{n}"
    return items
