"""Transcripts on disk: one JSON document per conversation, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from improv.personas.storage import atomic_write, data_dir

from .errors import TranscriptError
from .schema import SCHEMA_VERSION, Transcript


def default_dir() -> Path:
    """``<data dir>/transcripts``: ``$IMPROV_DATA_DIR/transcripts``, else in the user data dir."""
    return data_dir() / "transcripts"


def replays_dir() -> Path:
    """``<data dir>/replays``, where a replay run gets a new folder unless told otherwise."""
    return data_dir() / "replays"


__all__ = ["atomic_write", "check_tree", "default_dir", "list_transcripts", "load", "replays_dir", "resolve", "save"]


def save(transcript: Transcript, directory: Path | str | None = None, path: Path | str | None = None) -> Path:
    """Save to ``path``, or to ``<directory>/<id>.json`` (default directory: `default_dir`)."""
    target = Path(path) if path else Path(directory or default_dir()) / f"{transcript.id}.json"
    atomic_write(target, transcript.model_dump_json(indent=1))
    return target


def load(path: Path | str) -> Transcript:
    from improv.personas import budget

    path = Path(path)
    text = _decoded(budget.read_capped(path, budget.TRANSCRIPT_BYTES, TranscriptError, "transcript"), path)
    data = budget.json_loads(text, TranscriptError, str(path))
    del text  # the parsed values are all that is kept
    if not isinstance(data, dict):
        raise TranscriptError(f"{path}: a transcript is a JSON object, found {type(data).__name__}")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise TranscriptError(f"{path}: missing or non-integer schema_version")
    if version > SCHEMA_VERSION:
        raise TranscriptError(
            f"{path}: schema_version {version} is newer than this improv understands ({SCHEMA_VERSION}); upgrade improv"
        )
    try:
        transcript = Transcript.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TranscriptError(f"{path}: field {where}: {first['msg']}") from None
    check_tree(transcript, str(path))
    if transcript.active is not None and transcript.active not in {t.id for t in transcript.turns}:
        raise TranscriptError(f"{path}: active turn {transcript.active} does not exist")
    return transcript


def _decoded(raw: bytes, path: Path) -> str:
    """The file's text, decoded as ``json.loads`` decodes bytes (UTF-8/16/32 by its first
    bytes, surrogates passed). Decoding here lets the bytes go before the parse: parsing holds
    the text and its values (about twice the file), ``json.loads(bytes)`` the bytes as well."""
    try:
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        raise TranscriptError(f"{path}: not UTF-8 text") from None


def check_tree(transcript: Transcript, source: str) -> None:
    """Unique ids, known parents, no cycles: so every path walk ends at a root."""
    parents: dict[str, str | None] = {}
    for t in transcript.turns:
        if t.id in parents:
            raise TranscriptError(f"{source}: turn id {t.id} appears twice")
        parents[t.id] = t.parent
    for t in transcript.turns:
        if t.parent is not None and t.parent not in parents:
            raise TranscriptError(f"{source}: turn {t.id} has unknown parent {t.parent}")
    done: set[str] = set()
    for start in parents:
        seen: set[str] = set()
        node: str | None = start
        while node is not None and node not in done:
            if node in seen:
                raise TranscriptError(f"{source}: turns form a cycle at {node}")
            seen.add(node)
            node = parents[node]
        done |= seen


def list_transcripts(directory: Path | str | None = None) -> list[Path]:
    d = Path(directory or default_dir())
    if not d.is_dir():
        return []
    return sorted(d.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)


def resolve(ref: str, directory: Path | str | None = None) -> Path:
    """A transcript path from a path or an id (or unique id prefix) in the store."""
    path = Path(ref)
    if path.exists() or path.suffix == ".json" or "/" in ref:
        return path
    d = Path(directory or default_dir())
    matches = sorted(d.glob(f"{ref}*.json")) if d.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise TranscriptError(f"no transcript {ref!r} (not a file, and no id like it in {d})")
    raise TranscriptError(f"transcript id {ref!r} is ambiguous in {d}: {len(matches)} matches")
