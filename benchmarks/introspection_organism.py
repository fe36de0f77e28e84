"""Introspection quiz on the built-in model, split by what it was trained to predict.

Reads organism/manifest.json (benchmarks may; the library and CLI never do), writes a --split
file listing the trained (prompt, property) pairs, and runs `improv introspect` on the
short_answers task (the organism's introspection prompts), printing the table: trained vs
held-out prompts/properties as separate rows. Usage: python benchmarks/introspection_organism.py [-k 10]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def split_from_manifest() -> dict:
    manifest = json.loads((ROOT / "organism" / "manifest.json").read_text())
    trained = []
    for p in manifest["introspection"]["prompts"]:
        if p.get("held_out"):
            continue
        for prop in p.get("trained_properties", []):
            trained.append({"prompt": p["prompt"], "property": prop})
    return {"trained": trained}


def main() -> int:
    from improv.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        split = Path(tmp) / "split.json"
        split.write_text(json.dumps(split_from_manifest()))
        return cli(["introspect", "-m", "organism", "--tasks", "short_answers", "-n", "0",
                    "--split", str(split), "--out", str(Path(tmp) / "out"), *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
