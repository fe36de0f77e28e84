"""Imports run one way (the layer table in ARCHITECTURE.md): nothing below `tui/` and `improv/`
imports them, and no library package imports one above it. Lazy imports inside functions count
too: they are dependencies all the same."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: package -> the packages it may import (besides itself)
MAY_IMPORT = {
    "personas": set(),
    "agents": {"personas"},
    "transcripts": {"agents", "personas"},
    "evaluator": {"agents", "personas", "transcripts"},
    "games": {"agents", "personas", "transcripts", "evaluator"},
    "organism": {"agents", "personas", "games"},
    "tui": {"agents", "personas", "transcripts", "evaluator", "games", "organism"},
}


def _imported_packages(path: Path) -> set[tuple[int, str]]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "improv" and len(parts) > 1:
                out.add((node.lineno, parts[1] if parts[1] in MAY_IMPORT else "improv"))
    return out


def test_no_import_runs_upward():
    bad = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for lineno, target in _imported_packages(path):
                if target != package and target not in allowed:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno} imports improv.{target}")
    assert bad == []
