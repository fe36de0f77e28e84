"""One size and depth budget for every file improv reads from outside.

A small file must not cost unbounded memory or time: a 367-byte YAML alias bomb expanded to
gigabytes, a 261 KB PNG chunk inflated to 256 MiB. Every loader (personas, character cards,
transcripts, replay JSONL) reads through these helpers, so a limit is set here, once.

It lives in `personas` because that package imports nothing of ours: every other loader may
import it without bending the layering. The helpers raise ``error(message)`` with the caller's
error class, so each package keeps its own exception type.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

MiB = 1024 * 1024

#: Budgets. A persona is a few KB of text; a card PNG carries an image; a transcript of a
#: long chat with logprobs on every token reaches a few MB, a replay results line the same.
PERSONA_BYTES = 1 * MiB          # YAML persona or JSON card file
PNG_BYTES = 32 * MiB             # a character card PNG (the image is most of it)
PNG_TEXT_BYTES = 2 * MiB         # one text chunk after decompression, and all of them together
TRANSCRIPT_BYTES = 128 * MiB     # one transcript JSON file
JSONL_LINE_BYTES = 32 * MiB      # one line of a messages JSONL file
YAML_NODES = 100_000             # YAML nodes after aliases are expanded
YAML_SCALAR_CHARS = 4 * PERSONA_BYTES  # scalar text after aliases are expanded
MAX_DEPTH = 100                  # nesting of YAML or JSON containers

ErrorFactory = Callable[[str], Exception]


def _mib(n: int) -> str:
    return f"{n / MiB:g} MiB" if n >= MiB else f"{n} bytes"


def read_capped(path: Path, limit: int, error: ErrorFactory, what: str = "file") -> bytes:
    """The bytes of ``path``, refusing before reading more than ``limit`` of them."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise error(f"{path}: cannot read {what}: {err.strerror or err}") from None
    if len(data) > limit:
        raise error(f"{path}: {what} larger than {_mib(limit)}; improv refuses it")
    return data


def inflate(data: bytes, limit: int, error: ErrorFactory, where: str) -> bytes:
    """zlib-decompress at most ``limit`` bytes: a deflate bomb stops at the limit, not in RAM."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as err:
        raise error(f"{where}: cannot decompress: {err}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise error(f"{where}: decompresses to more than {_mib(limit)}; improv refuses it")
    return out


def json_loads(text: str | bytes, error: ErrorFactory, where: str, line: int | None = None) -> Any:
    """``json.loads`` whose failures are one line naming line and column (``line``: the
    text is that one line of a JSONL file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        at = f"line {line if line is not None else err.lineno}, column {err.colno}"
        raise error(f"{where}, {at}: not valid JSON: {err.msg}") from None
    except UnicodeDecodeError:
        raise error(f"{where}: not UTF-8 text") from None
    except RecursionError:
        at = f", line {line}" if line is not None else ""
        raise error(f"{where}{at}: JSON nested too deeply") from None


def json_depth_ok(data: Any, error: ErrorFactory, where: str, limit: int = MAX_DEPTH) -> None:
    """Refuse containers nested deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise error(f"{where}: JSON nested more than {limit} levels deep")
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def yaml_safe_load(text: str, error: ErrorFactory, where: str) -> Any:
    """``yaml.safe_load`` with aliases counted as expanded: nodes, scalar text and depth are
    bounded before anything is constructed. The C parser is used when PyYAML has it (about
    ten times faster on a large file)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_nodes(node, error, where)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_yaml_nodes(root: Any, error: ErrorFactory, where: str) -> None:
    """Expanded size of a composed YAML graph, each shared (aliased) node computed once."""
    import yaml

    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, scalar chars), expanded
    depth_of: dict[int, int] = {}
    # Iterative post-order walk: a deep document cannot exhaust Python's recursion limit.
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            sizes[key] = (1, len(node.value))
            continue
        if expanded:
            on_path.discard(key)
            children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
            n, chars = 1, 0
            for c in children:
                cn, cc = sizes[id(c)]
                n, chars = n + cn, chars + cc
            if n > YAML_NODES or chars > YAML_SCALAR_CHARS:
                line = node.start_mark.line + 1
                raise error(f"{where}, line {line}: YAML expands to more than {YAML_NODES} nodes or "
                            f"{_mib(YAML_SCALAR_CHARS)} of text (aliases); improv refuses it")
            sizes[key] = (n, chars)
            continue
        if key in sizes and depth <= depth_of.get(key, 0):
            continue
        if key in on_path:
            raise error(f"{where}, line {node.start_mark.line + 1}: YAML alias refers to itself")
        if depth > MAX_DEPTH:
            raise error(f"{where}, line {node.start_mark.line + 1}: YAML nested more than {MAX_DEPTH} levels deep")
        depth_of[key] = depth
        on_path.add(key)
        stack.append((node, depth, True))
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        stack.extend((c, depth + 1, False) for c in children)
