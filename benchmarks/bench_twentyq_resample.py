"""Resampling the 20 Questions reveal: K=32 in ONE batched n=K call vs K sequential calls,
and the exact posterior (one score call over every table object) vs sampling.

Runs on the built-in model; if its weights are missing, on a tiny random transformers model
(and says so). Measured side by side in one run; prints medians and ratios.

    .venv/bin/python benchmarks/bench_twentyq_resample.py [--k 32] [--repeats 3] [--model MODEL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def pick_model(requested: str | None, tmp: str) -> tuple[str, str]:
    if requested:
        return requested, requested
    from improv.agents.providers.organism import weights_missing, default_model_dir

    if not weights_missing(default_model_dir()):
        return "organism", "the built-in model"
    from tests.tiny_model import build_tiny_model

    path = build_tiny_model(Path(tmp) / "tiny", hidden=64, layers=2)
    return f"hf/{path}", "a TINY random model (built-in weights missing: organism/model/model.safetensors)"


async def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def main_async(args) -> None:
    import torch

    from improv.agents.registry import get_model
    from improv.agents.types import GenerateConfig
    from improv.games.analysis import exact_posterior, resample_reveal
    from improv.games.engine import ScriptQuestioner, play_game
    from improv.games.table import load_table

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        spec, what = pick_model(args.model, tmp)
        model = get_model(spec)
        table = load_table()
        cfg = GenerateConfig(max_tokens=args.max_tokens)
        game = await play_game(model, ScriptQuestioner(["Is it alive?", "Is it an animal?", "Does it have fur?"]),
                               turns=3, config=cfg, table=table)
        k = args.k
        # warm up (load weights, first forward passes)
        await resample_reveal(game, model, k=2, table=table, config=cfg)
        if model.capabilities.score:
            await exact_posterior(game, model, table=table)

        async def batched():
            await resample_reveal(game, model, k=k, table=table, config=cfg)

        async def sequential():
            for _ in range(k):
                await resample_reveal(game, model, k=1, table=table, config=cfg)

        async def exact():
            await exact_posterior(game, model, table=table)

        t_batch = await timed(batched, args.repeats)
        t_seq = await timed(sequential, args.repeats)
        t_exact = await timed(exact, args.repeats) if model.capabilities.score else None
        await model.aclose()

    print(f"model: {spec} ({what}); torch threads {args.threads}; median of {args.repeats} runs")
    print(f"{'mode':<52}{'seconds':>10}")
    print(f"{f'K={k} reveals, one batched n={k} call':<52}{t_batch:>10.3f}")
    print(f"{f'K={k} reveals, {k} sequential n=1 calls':<52}{t_seq:>10.3f}")
    if t_exact is not None:
        print(f"{f'exact posterior, {len(table.objects)} candidates, one score call':<52}{t_exact:>10.3f}")
    print(f"speed-up of batching: {t_seq / t_batch:.1f}x (sequential / batched)")
    if t_exact is not None:
        print(f"exact posterior time / K={k} batched sampling time: {t_exact / t_batch:.2f} "
              f"(the exact mode scores all {len(table.objects)} objects with no sampling noise)")
    else:
        print("exact posterior: not available on this backend (needs score)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-tokens", type=int, default=12)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="model string (default: organism, else a tiny model)")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
