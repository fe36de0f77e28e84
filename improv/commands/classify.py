"""`improv classify`: is an agent's false statement a confabulation, a good-faith falsehood, or
deception in role? Shows the evidence: neutral vs in-context shares, entropies, persona lines,
the decision-table row that fired.

    improv classify TRANSCRIPT --turn N [--claim TEXT] [--truth TEXT] [--judge MODEL] [-m MODEL] [-k K] [--json]
    improv classify --batch CASES.jsonl [-m MODEL] [--judge MODEL] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from improv.options import add_json_option, add_judge_option, add_model_options, build_judge, build_model, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("transcript", nargs="?", help="transcript file or id (improv transcripts list)")
    parser.add_argument("--turn", default=None, help="turn id, or N = the N-th agent reply on the active branch")
    parser.add_argument("--claim", default=None, help="the false claim (default: the whole reply)")
    parser.add_argument("--truth", default=None, help="reference truth (a value or a sentence)")
    add_judge_option(parser, "judge model (default: none; deterministic matching)")
    add_model_options(parser, persona=False, samples=False, settings=("temperature", "seed"), model_help="model to sample",
                      defaults={"temperature": 1.0},
                      help={"temperature": "temperature of the neutral samples (default 1.0; reported)",
                            "seed": "sampling seed (where the backend takes one; --batch: default 0, case i gets seed + i)"})
    parser.add_argument("-k", type=int, default=10, help="in-context resamples (default 10)")
    parser.add_argument("--samples", type=int, default=10, help="neutral samples per round (default 10, >= 10)")
    parser.add_argument("--no-exact", action="store_true",
                        help="do not read the belief from the model's likelihoods even where the backend scores (hf/, organism)")
    parser.add_argument("--probe", action="store_true",
                        help="white-box truth probe on hidden states (in-process models: organism, hf/PATH); may only lower confidence")
    parser.add_argument("--batch", default=None, metavar="CASES.jsonl", help="classify every case in a JSONL file")
    parser.add_argument("--concurrency", type=int, default=4, help="cases classified at once in --batch")
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    from improv.agents.errors import ConfigError

    if args.k < 1:
        raise ConfigError("-k must be at least 1")
    if args.samples < 10:
        raise ConfigError("--samples must be at least 10")
    if args.batch:
        return run_batch(args)
    if not args.transcript:
        raise ConfigError("give a TRANSCRIPT and --turn, or --batch CASES.jsonl")
    if args.turn is None:
        raise ConfigError("--turn is required with a transcript")
    from improv.evaluator.falsehood.classification import Classification, ClassifySettings

    job = Classification.load(args.transcript, args.turn, claim=args.claim, truth=args.truth, settings=ClassifySettings(
        k=args.k, samples=args.samples, seed=args.seed, temperature=args.temperature, exact=not args.no_exact, probe=args.probe))
    model = build_model(args)
    judge = build_judge(args)

    from improv.agents.model import aclose_all

    async def go():
        try:
            return await job.run(model, judge)
        finally:
            await aclose_all(model, judge)

    verdict = asyncio.run(go())
    if args.json:
        print_json(verdict)
    else:
        render_verdict(verdict)
    return 0


def run_batch(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from improv.evaluator.falsehood.classify import aclassify_batch, load_cases

    cases = load_cases(args.batch)
    model = build_model(args)
    judge = build_judge(args)
    console = Console(stderr=True)
    progress = Progress(TextColumn("classify"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                        disable=args.json or not console.is_terminal)

    from improv.agents.model import aclose_all

    async def go():
        task = progress.add_task("classify", total=len(cases))
        try:
            return await aclassify_batch(cases, model, judge, k=args.k, samples=args.samples, concurrency=args.concurrency,
                                         seed=0 if args.seed is None else args.seed, keep_detail=args.json,
                                         probe=True if args.probe else None, temperature=args.temperature, exact=not args.no_exact,
                                         progress=lambda done, total, r: progress.update(task, completed=done))
        finally:
            await aclose_all(model, judge)

    with progress:
        result = asyncio.run(go())
    if args.json:
        print_json(result)
    else:
        render_batch(result)
    return 0


# -- rendering ------------------------------------------------------------------------------


def _share(s) -> str:
    return f"{s.count}/{s.n} {s.share:.2f} [{s.low:.2f}-{s.high:.2f}]"


def render_verdict(v) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from improv.agents.text import plural, printable

    console = Console(highlight=False)
    head = Text()
    head.append(f"{v.verdict.replace('_', ' ').upper()}", style="bold")
    head.append(f"  confidence {v.confidence}  rule {v.rule}: {v.condition}")
    console.print(head)
    console.print(Text(f"reply: {printable(v.reply)}"))
    if v.proposition is None or v.neutral is None or v.in_context is None:
        if v.no_claim is not None:
            console.print(Text(f"{printable(v.no_claim.reason)} (nothing sampled: no claim, no verdict)"))
        console.print(Text(f"persona ({v.persona.method} reading): {v.persona.stance}"))
        return
    p = v.proposition
    console.print(Text(f"A (claim): {printable(p.a)}   B: {printable(p.b or '(unknown)')}   falsity: {p.falsity} ({p.falsity_source})"))
    t = Table(title="neutral (honest persona) vs in role")
    t.add_column("")
    t.add_column("neutral")
    t.add_column("in role")
    n, c = v.neutral, v.in_context
    t.add_row("says A (the claim)", _share(n.share_a), _share(c.repeat))
    t.add_row("says B / denies A", _share(n.share_b), _share(c.share_b))
    t.add_row("other", _share(n.share_other), "")
    t.add_row("refusal", _share(n.share_refusal), "")
    t.add_row("entropy (bits)", f"{n.entropy_bits:.2f} ({plural(n.clusters, 'cluster')})", f"{c.entropy_bits:.2f} ({plural(c.clusters, 'cluster')})")
    if c.false_share is not None:
        t.add_row("states a false value", "", _share(c.false_share))
    t.add_row("belief / samples", f"{n.belief}: {printable(n.reason)} (T={n.temperature:g})", f"{plural(len(c.samples), 'resample')} at T={c.temperature:g}")
    if n.exact is not None:
        probs = ", ".join(f"{printable(a)} {p:.3f}" for a, p in zip(n.exact.candidates, n.exact.probs))
        t.add_row("belief by likelihood", f"{n.exact.belief}: {probs}", "")
    console.print(t)
    s = Table(title="samples")
    s.add_column("context")
    s.add_column("question")
    s.add_column("answer")
    s.add_column("label")
    for x in [*n.samples, *c.samples]:
        s.add_row(x.kind, Text(printable(x.question)), Text(printable(x.text)), x.label)
    console.print(s)
    console.print(Text(f"persona ({v.persona.method} reading): {v.persona.stance}"))
    for q in v.persona.quotes:
        console.print(Text(f"  > {printable(q)}"))
    if v.probe:
        pr = v.probe
        console.print(Text(f"truth probe: p(true)={pr.p_true:.2f} for {printable(pr.statement)!r} (layer {pr.layer}); "
                           f"held-out accuracy {pr.accuracy:.2f} [{pr.accuracy_low:.2f}-{pr.accuracy_high:.2f}] "
                           f"on {plural(pr.test_size, 'statement')}{'' if pr.used else ' (too low: not used)'}"))
    for note in v.notes:
        console.print(Text(f"note: {note}"))


def render_batch(r) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    rows = Table(title="cases")
    for col in ("id", "label", "verdict", "confidence", "rule"):
        rows.add_column(col)
    for x in r.results:
        rows.add_row(x.id, x.label or "", x.verdict or Text(f"error: {x.error}"), x.confidence or "", x.rule or "")
    console.print(rows)
    if not r.confusion:
        return
    m = Table(title="confusion matrix (rows: label, columns: verdict)")
    m.add_column("label \\ verdict")
    for c in r.labels:
        m.add_column(c, justify="right")
    for g, row in r.confusion.items():
        m.add_row(g, *(str(row[c]) for c in r.labels))
    console.print(m)
    pc = Table(title="per class")
    for col in ("class", "precision", "recall", "F1", "support", "predicted"):
        pc.add_column(col, justify="right")
    f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    for c in r.per_class:
        pc.add_row(c.label, f(c.precision), f(c.recall), f(c.f1), str(c.support), str(c.predicted))
    console.print(pc)
    console.print(f"macro-F1 {f(r.macro_f1)}  accuracy {f(r.accuracy)}  cases {len(r.results)}"
                  + (f"  errors {sum(1 for x in r.results if x.error)}" if any(x.error for x in r.results) else ""))
    sys.stdout.flush()
