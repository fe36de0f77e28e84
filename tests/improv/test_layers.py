"""Imports run one way (the layer table in ARCHITECTURE.md): nothing below `tui/` and `improv/`
imports them, and no library package imports one above it. Lazy imports inside functions count
too: they are dependencies all the same."""

from __future__ import annotations

from pathlib import Path

from tests.improv.source_imports import absolute_imports

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
    for lineno, name in absolute_imports(path):
        parts = name.split(".")
        if parts[0] == "improv" and len(parts) > 1:
            out.add((lineno, parts[1] if parts[1] in MAY_IMPORT else "improv"))
    return out


def test_no_import_runs_upward():
    bad = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for lineno, target in _imported_packages(path):
                if target != package and target not in allowed:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno} imports improv.{target}")
    assert bad == []
