"""The secret probe (issue 19) on one in-process model: prints the settings, then the report of
`improv twentyq probe` (probe accuracy by layer, by turn against the answers-only baseline, the
logit lens), and the wall time of each stage.

    IMPROV_TORCH_THREADS=2 .venv/bin/python benchmarks/probe.py -m organism
    IMPROV_TORCH_THREADS=2 .venv/bin/python benchmarks/probe.py \
        -m hf/<SmolLM2-135M-Instruct.Q4_1.gguf> --candidates 10 --train 40 --val 20 --test 30 --uncommitted 40

Every option of the command is accepted (``--help``); ``--json`` prints the report as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ.get("IMPROV_TORCH_THREADS", "1"))  # numpy fits: stay in budget


def main(argv: list[str] | None = None) -> int:
    from improv.agents.registry import get_model
    from improv.commands.twentyq_probe import add_arguments, render, settings_from
    from improv.games.probe import run_probe
    from improv.games.table import load_table

    parser = argparse.ArgumentParser(prog="benchmarks/probe.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    settings = settings_from(args)
    table = load_table(args.objects)
    model = get_model(args.model)
    print(f"settings: model {model.name}; objects {table.name} ({len(table.objects)}); {settings.model_dump_json()}; "
          f"IMPROV_TORCH_THREADS={os.environ.get('IMPROV_TORCH_THREADS', '(unset)')}", flush=True)
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(done: int, total: int, split: str) -> None:
        if done == total:
            marks["games"] = time.perf_counter() - start
        if done and (done % 50 == 0 or done == total):
            print(f"  {done}/{total} games ({split}) {time.perf_counter() - start:.0f}s", file=sys.stderr, flush=True)

    async def go():
        try:
            return await run_probe(model, settings, table=table, progress=progress)
        finally:
            await model.aclose()

    report = asyncio.run(go())
    total = time.perf_counter() - start
    if args.json:
        print(report.model_dump_json(indent=1))
    else:
        from rich.console import Console

        console = Console(highlight=False, width=200)
        render(console, report)
    games = marks.get("games", total)
    print(f"wall time: {total:.0f}s ({games:.0f}s playing {len(report.games)} games and reading their states, "
          f"{total - games:.0f}s fitting, evaluating and the lens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
