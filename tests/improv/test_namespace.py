"""improv installs under one import namespace, ``improv.*``, so it can share an environment
with packages that own generic names (the OpenAI Agents SDK is imported as ``agents``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.improv.source_imports import absolute_imports

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ["agents", "personas", "transcripts", "games", "evaluator", "organism", "tui"]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_installed_under_improv():
    listed = set(_setuptools()["packages"])
    on_disk = {"improv." + str(p.parent.relative_to(ROOT)).replace(os.sep, ".")
               for top in FOLDERS for p in (ROOT / top).rglob("__init__.py")}
    on_disk |= {str(p.parent.relative_to(ROOT)).replace(os.sep, ".")
                for p in (ROOT / "improv").rglob("__init__.py")}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert _setuptools()["package-dir"] == {f"improv.{t}": t for t in FOLDERS}


def test_no_code_imports_a_top_level_folder_by_its_bare_name():
    # From the repository root a bare `import games` still works (the folder is on sys.path),
    # so a stray one would pass every other test and then fail once installed.
    bad = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "build" in path.parts:
            continue
        bad += [f"{path.relative_to(ROOT)}:{lineno} {name}" for lineno, name in absolute_imports(path)
                if name.split(".")[0] in FOLDERS]
    assert bad == []


def test_improv_imports_next_to_the_openai_agents_sdk(tmp_path):
    # Run outside the repository so that `agents` can only mean the installed SDK.
    code = (
        "import agents, improv.agents, improv.agents.registry as r\n"
        "from agents import Agent, Runner\n"
        "assert 'improv' not in agents.__file__, agents.__file__\n"
        "assert improv.agents.Agent is not Agent\n"
        "print(r.parse_model_string('organism') is not None)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
