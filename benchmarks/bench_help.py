"""How long `improv --help` takes, and which imports cost the most.

Runs `.venv/bin/improv --help` as a subprocess ~10 times and prints the median wall time and
whether it is under 0.5 s; then runs `python -X importtime -m improv --help` once and prints
the top cumulative imports, so a heavy import that crept in is named.
Run: .venv/bin/python benchmarks/bench_help.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "openai", "anthropic", "textual", "numpy", "pydantic", "yaml", "rich")


def improv_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "improv"
    return [str(script)] if script.exists() else [sys.executable, "-m", "improv"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    cmd = [*improv_command(), "--help"]
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)

    # python itself, for scale
    base = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
        base.append(time.perf_counter() - start)

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "improv", "--help"],
        capture_output=True, text=True, cwd=ROOT, env=env, check=True,
    )
    rows = []  # (cumulative us, self us, module, nesting depth)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, raw = line[len("import time:"):].split("|", 2)
        depth = (len(raw) - len(raw.lstrip()) - 1) // 2
        rows.append((int(cumulative_us), int(self_us), raw.strip(), depth))
    top_level = sorted((r for r in rows if r[3] == 0), reverse=True)
    loaded = {r[2].split(".")[0] for r in rows}

    print(f"`{' '.join(cmd)}`: median {median * 1000:.0f} ms over {args.runs} runs "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); bare python: {statistics.median(base) * 1000:.0f} ms")
    print(f"under 0.5 s: {'yes' if median < 0.5 else 'NO'}")
    heavy = [h for h in HEAVY if h in loaded]
    print(f"heavy modules imported by --help: {', '.join(heavy) if heavy else 'none'}")
    print(f"top {args.top} imports by cumulative time (python -X importtime):")
    for cumulative, _self_us, name, _depth in top_level[: args.top]:
        print(f"  {cumulative / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
