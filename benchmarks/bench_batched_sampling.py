"""Batched sampling on the hf backend, measured side by side in one run.

1. n=32 samples drawn in ONE batched generate call vs 32 sequential n=1 calls.
2. 16 concurrent single-sample requests (e.g. 16 games at once) with cross-request batching
   on (merged into batched generate calls) vs off (one generate call per request).
3. K=16 short samples after a long prompt (20 Questions reveals after a game): the prompt
   encoded once for all K rows (`HFBackend.share_prefill`) vs once per row.

Both go through `agents.Model` over `HFBackend` on a tiny random llama saved to a temporary
directory (a bit bigger than the test model). Run: .venv/bin/python benchmarks/bench_batched_sampling.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from improv.agents.model import Model  # noqa: E402
from improv.agents.providers.hf import HFBackend, load  # noqa: E402
from improv.agents.types import GenerateConfig, Message  # noqa: E402
from tests.tiny_model import build_tiny_model  # noqa: E402

MSGS = [
    Message(role="system", content="You are a helpful assistant."),
    Message(role="user", content="Is it an animal? Answer yes or no."),
]


def median_time(fn, repeats: int) -> tuple[float, int]:
    times, tokens = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        tokens = asyncio.run(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times), tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--concurrent", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=16, help="samples after the long prompt (case 3)")
    parser.add_argument("--prompt-turns", type=int, default=30, help="question/answer pairs in the long prompt (case 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (IMPROV_TORCH_THREADS); default: torch's")
    args = parser.parse_args()
    if args.threads is not None:
        os.environ["IMPROV_TORCH_THREADS"] = str(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_model(Path(tmp) / "model", hidden=64, layers=4, heads=4, vocab=384)
        lm = load(path)
        params = sum(p.numel() for p in lm.model.parameters())
        # the random model may end a sample early at its end-of-turn token; make every
        # sample run to max_tokens so both sides do the same work
        lm.eos_ids = [10**9]
        batched = Model(HFBackend(path, batching=True))
        unbatched = Model(HFBackend(path, batching=False))
        cfg = GenerateConfig(temperature=1.0, max_tokens=args.max_tokens)

        async def one_call():
            c = await batched.generate(MSGS, cfg.model_copy(update={"n": args.n}))
            assert len(c.choices) == args.n
            return c.usage.output_tokens

        async def sequential():
            total = 0
            for _ in range(args.n):
                total += (await unbatched.generate(MSGS, cfg)).usage.output_tokens
            return total

        def concurrent(model):
            async def run():
                prompts = [[Message(role="user", content=f"Game {i}: is it alive?")] for i in range(args.concurrent)]
                outs = await asyncio.gather(*[model.generate(p, cfg) for p in prompts])
                return sum(o.usage.output_tokens for o in outs)
            return run

        long_prompt = [MSGS[0], Message(role="user", content=" ".join(["Is it alive? No."] * args.prompt_turns)
                                                   + " I give up. What was it?")]
        reveal_cfg = GenerateConfig(temperature=1.0, max_tokens=12, n=args.k)
        long_tokens = len(lm.prompt_ids(long_prompt))

        def reveals(share: bool):
            async def run():
                HFBackend.share_prefill = share
                try:
                    return (await batched.generate(long_prompt, reveal_cfg)).usage.output_tokens
                finally:
                    HFBackend.share_prefill = True
            return run

        asyncio.run(one_call())  # warm-up
        t_one, tok_one = median_time(one_call, args.repeats)
        t_seq, tok_seq = median_time(sequential, args.repeats)
        t_on, tok_on = median_time(concurrent(batched), args.repeats)
        t_off, tok_off = median_time(concurrent(unbatched), args.repeats)
        t_shared, tok_shared = median_time(reveals(True), args.repeats)
        t_rows, tok_rows = median_time(reveals(False), args.repeats)

    import torch

    print(f"tiny llama: {params:,} parameters, CPU, {torch.get_num_threads()} torch threads, "
          f"max_tokens={args.max_tokens}, median of {args.repeats}")
    print(f"{'case':<44}{'seconds':>9}{'tokens':>8}{'tok/s':>9}")
    rows = [
        (f"n={args.n} in one batched generate call", t_one, tok_one),
        (f"{args.n} sequential n=1 calls", t_seq, tok_seq),
        (f"{args.concurrent} concurrent requests, batching on", t_on, tok_on),
        (f"{args.concurrent} concurrent requests, batching off", t_off, tok_off),
        (f"K={args.k} after {long_tokens} tokens, prompt encoded once", t_shared, tok_shared),
        (f"K={args.k} after {long_tokens} tokens, encoded per row", t_rows, tok_rows),
    ]
    for label, t, tok in rows:
        print(f"{label:<44}{t:>9.3f}{tok:>8}{tok / t:>9.0f}")
    print(f"speed-up, one batched call vs sequential: {t_seq / t_one:.1f}x")
    print(f"speed-up, cross-request batching on vs off: {t_off / t_on:.1f}x")
    print(f"speed-up, K samples of one long prompt, encoded once vs per row: {t_rows / t_shared:.1f}x")


if __name__ == "__main__":
    main()
