"""The provider seam is closed: nothing outside `agents/` reaches into a backend."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from improv.agents.registry import PROVIDERS, create_backend

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "agents"
OUTSIDE = ["personas", "transcripts", "games", "evaluator", "organism", "tui", "improv", "benchmarks"]


def _private_backend_names() -> set[str]:
    """Private names a backend module defines: its functions, classes, methods and attributes."""
    names: set[str] = set()
    for path in [AGENTS / "backend.py", AGENTS / "sdk.py", AGENTS / "batch.py", *sorted((AGENTS / "providers").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _uses(private: set[str]):
    for folder in OUTSIDE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("improv.agents"):
                    yield from (f"{where} imports {a.name}" for a in node.names if a.name.startswith("_"))
                elif (isinstance(node, ast.Attribute) and node.attr in private
                      and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                    yield f"{where} uses .{node.attr}"  # an object's own private names are its own


def test_no_module_outside_agents_uses_a_backends_private_name():
    private = _private_backend_names()
    assert {"_params", "_make_client", "_choice", "_usage"} <= private  # the scan sees the backends
    assert list(_uses(private)) == []


def test_capabilities_are_declared_once_in_the_registry():
    for name in ("mock", "organism"):
        backend = create_backend(name if name == "organism" else f"{name}/echo")
        assert backend.capabilities == PROVIDERS[name].capabilities


def test_batch_apis_are_offered_where_declared(clean_env):
    from improv.agents.errors import CapabilityError
    from improv.agents.registry import get_model

    clean_env.setenv("OPENAI_API_KEY", "sk-test")
    clean_env.setenv("FAKE_BASE_URL", "http://127.0.0.1:9/v1")
    assert get_model("openai/x").batches().kind == "openai"
    assert get_model("openai-api/fake/x").batches().kind == "openai"  # an OpenAI-compatible service's Batch API
    for name in ("vllm/x", "mock/echo", "organism"):
        with pytest.raises(CapabilityError, match="no batch API"):
            get_model(name).batches()
