"""Export a transcript as Markdown (for reading) or OpenAI-style messages JSONL (for other tools)."""

from __future__ import annotations

import json
import re

from improv.agents.text import json_safe, one_line, printable

from .schema import Transcript


def branch_messages(transcript: Transcript, leaf: str | None = None, *, system: bool = True) -> list[dict]:
    """OpenAI-style messages of one branch; the system prompt that made its last reply goes first."""
    path = transcript.path(leaf)
    out = [{"role": t.role, "content": t.content} for t in path]
    if system:
        prompt = next((t.system_prompt for t in reversed(path) if t.system_prompt), None)
        if prompt and not (out and out[0]["role"] == "system"):
            out.insert(0, {"role": "system", "content": prompt})
    return out


def to_jsonl(transcript: Transcript, *, all_branches: bool = False) -> str:
    """One line ``{"messages": [...], "metadata": {...}}`` per branch (active branch by default)."""
    leaves = [t.id for t in transcript.leaves()] if all_branches else [transcript.active]
    lines = []
    for leaf in leaves:
        if leaf is None:
            continue
        lines.append(json_safe(json.dumps({
            "messages": branch_messages(transcript, leaf),
            "metadata": {"transcript": transcript.id, "leaf": leaf, "kind": transcript.kind},
        }, ensure_ascii=False)))
    lines.append("")  # the final newline, without a copy of each line to add it
    return "\n".join(lines)


_TICK_LINE = re.compile(r"^`+$", re.MULTILINE)


def _fence(text: str) -> list[str]:
    """Quote model text so Markdown renders it literally (a fence longer than any inside it),
    with control sequences escaped so a reader's terminal or viewer never acts on them. The
    opening fence, the text and the closing fence as three lines: a message of megabytes is
    copied once, into the document, not once per step."""
    text = printable(text)
    longest = max((len(m.group()) for m in _TICK_LINE.finditer(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}text", text, ticks]


def to_markdown(transcript: Transcript) -> str:
    """The active branch as Markdown; alternatives to each reply are listed under it."""
    lines = [f"# {one_line(transcript.title or 'Transcript')} ({one_line(transcript.kind)})", "",
             f"- id: `{one_line(transcript.id)}`", f"- created: {transcript.created.isoformat()}"]
    if transcript.source:
        lines.append(f"- source: `{one_line(transcript.source)}`")
    path = transcript.path()
    prompt = next((t.system_prompt for t in path if t.system_prompt), None)
    if prompt:
        lines += ["", "## System", "", *_fence(prompt)]
    for turn in path:
        who = turn.role
        extra = [one_line(x) for x in (turn.model, turn.persona and f"persona {turn.persona}") if x]
        lines += ["", f"## {who}" + (f" ({', '.join(extra)})" if extra else ""), "", *_fence(turn.content)]
        siblings = [s for s in transcript.siblings(turn.id) if s.id != turn.id] if turn.role == "assistant" else []
        if siblings:
            lines += ["", f"{len(siblings)} other branch(es) at this reply:"]
            lines += [f"- `{one_line(s.id)}`: {json_safe(json.dumps(s.content[:80], ensure_ascii=False))}" for s in siblings]
    lines.append("")  # the final newline, without copying the document to add it
    return "\n".join(lines)
