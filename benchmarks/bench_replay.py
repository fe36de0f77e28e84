"""Replay speed against a bare asyncio loop over the openai SDK, side by side in one run.

The fake OpenAI server (tests/fakes/openai_server.py) runs in its own process with 100 ms of
injected latency, so it does not share the client's event loop or GIL. Each round times:

- bare: ``AsyncOpenAI().chat.completions.create`` for N requests under an asyncio.Semaphore(C)
  (the floor any Python client using the SDK pays);
- replay: `transcripts.replay.run_replay` of N single-turn conversations at concurrency C, through
  the improv `Model` (openai-api backend, retries, endpoint limit) and everything the replay
  does per conversation (new transcript, comparison, the append-only results.jsonl with its
  periodic fsync, summary.json at the end). Loading the inputs (a messages JSONL) is timed
  separately and printed.

Rounds alternate the order (bare first, then replay first, ...) and the ratio of medians is the
figure. Usage: ``python benchmarks/bench_replay.py [-n 2000] [-c 64] [--latency 0.1] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", "0", "--latency", str(latency), "--no-record"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    url = line.split(" on ", 1)[1].split()[0]
    return proc, url


async def bare(url: str, prompts: list[str], concurrency: int) -> int:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
    sem = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(prompt: str) -> None:
        nonlocal ok
        async with sem:
            resp = await client.chat.completions.create(model="gpt-fake", messages=[{"role": "user", "content": prompt}])
            ok += bool(resp.choices[0].message.content)

    await asyncio.gather(*(one(p) for p in prompts))
    await client.close()
    return ok


async def replay(items, out: Path, concurrency: int) -> int:
    from improv.agents.agent import Agent
    from improv.agents.registry import get_model
    from improv.transcripts.replay.modes import Regenerate
    from improv.transcripts.replay.runner import run_replay

    model = get_model("openai-api/bench/gpt-fake", max_connections=concurrency)
    try:
        result = await run_replay(items, Regenerate(Agent(model)), out, concurrency=concurrency, models=[model])
    finally:
        await model.aclose()
    return result.summary.overall.done


def machinery_overhead(items, concurrency: int) -> float:
    """CPU seconds per conversation that the replay adds around a request, measured with an
    instant in-process backend (no HTTP): replay CPU minus a bare loop over the same backend."""
    from improv.agents.agent import Agent
    from improv.agents.backend import Backend
    from improv.agents.model import Model
    from improv.agents.types import Choice, Completion, Message, Usage
    from improv.transcripts.replay.modes import Regenerate
    from improv.transcripts.replay.runner import run_replay

    class Instant(Backend):
        name = "bench/instant"

        async def generate(self, messages, config):
            return Completion(model=self.name, choices=[Choice(text="Echo", finish_reason="stop")],
                              usage=Usage(input_tokens=3, output_tokens=1))

    model = Model(Instant(), max_connections=concurrency)

    async def loop():
        sem = asyncio.Semaphore(concurrency)

        async def one(item):
            async with sem:
                await model.backend.generate([Message(role="user", content=item.id)], model.config)

        await asyncio.gather(*(one(i) for i in items))

    best = float("inf")
    for k in range(3):
        c = time.process_time()
        asyncio.run(loop())
        bare_cpu = time.process_time() - c
        with tempfile.TemporaryDirectory() as d:
            c = time.process_time()
            asyncio.run(run_replay(items, Regenerate(Agent(model)), Path(d), concurrency=concurrency))
            replay_cpu = time.process_time() - c
        best = min(best, (replay_cpu - bare_cpu) / len(items))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from improv.transcripts.replay.inputs import load_inputs

    proc, url = start_server(args.latency)
    os.environ["BENCH_BASE_URL"] = url
    os.environ["BENCH_API_KEY"] = "bench"
    tmp = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    try:
        data = tmp / "convs.jsonl"
        with data.open("w") as fh:
            for i in range(args.n):
                fh.write(json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                                  {"role": "assistant", "content": f"Echo: question {i}"}]}) + "\n")
        t = time.perf_counter()
        items = load_inputs([str(data)])
        load_s = time.perf_counter() - t
        prompts = [f"question {i}" for i in range(args.n)]

        # warm-up: imports, first connections, the server's first requests
        asyncio.run(bare(url, prompts[:200], args.concurrency))
        asyncio.run(replay(items[:200], tmp / "warm", args.concurrency))

        times: dict[str, list[float]] = {"bare": [], "replay": []}
        cpu: dict[str, list[float]] = {"bare": [], "replay": []}
        for r in range(args.rounds):
            order = ["bare", "replay"] if r % 2 == 0 else ["replay", "bare"]
            for name in order:
                t, c = time.perf_counter(), time.process_time()
                if name == "bare":
                    done = asyncio.run(bare(url, prompts, args.concurrency))
                else:
                    done = asyncio.run(replay(items, tmp / f"run{r}", args.concurrency))
                dt, dc = time.perf_counter() - t, time.process_time() - c
                assert done == args.n, f"{name}: {done} of {args.n} done"
                times[name].append(dt)
                cpu[name].append(dc)
                print(f"round {r + 1}  {name:<6} {dt:6.3f} s wall  {dc:6.3f} s client CPU", flush=True)
    finally:
        proc.terminate()
        proc.wait()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    ideal = args.n / args.concurrency * args.latency
    b, p = statistics.median(times["bare"]), statistics.median(times["replay"])
    print()
    print(f"{args.n} single-turn conversations, concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms")
    print(f"ideal ({args.n}/{args.concurrency} x {args.latency} s)      {ideal:6.3f} s")
    print(f"bare openai SDK loop (median)      {b:6.3f} s   {b / ideal:4.2f}x ideal")
    print(f"improv replay (median)             {p:6.3f} s   {p / ideal:4.2f}x ideal")
    print(f"replay / bare                      {p / b:6.3f}x   (target <= 1.10x)")
    paired = [times["replay"][i] / times["bare"][i] for i in range(args.rounds)]
    print(f"median of per-round ratios         {statistics.median(paired):6.3f}x   (rounds: {' '.join(f'{x:.2f}' for x in paired)})")
    best_b, best_p = min(times["bare"]), min(times["replay"])
    print(f"best of each: bare {best_b:.3f} s, replay {best_p:.3f} s, ratio {best_p / best_b:.3f}x")
    cb, cp = statistics.median(cpu["bare"]), statistics.median(cpu["replay"])
    print(f"client CPU (median): bare {cb:.3f} s, replay {cp:.3f} s, ratio {cp / cb:.3f}x")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores; other work shares them)")
    print(f"loading the {args.n} inputs (not in the replay time)  {load_s:.3f} s")
    per_item = machinery_overhead(items, args.concurrency)
    per_request = cb / args.n
    print(f"replay machinery per conversation (instant backend, CPU): {per_item * 1e6:.0f} us; "
          f"the SDK's own CPU per request here: {per_request * 1e6:.0f} us ({per_item / per_request:.1%})")


if __name__ == "__main__":
    main()
