"""`improv replay INPUT... -m MODEL`: replay saved conversations in batch.

Modes: ``regenerate`` (new replies on the recorded history, K samples each, all assistant
turns or ``--last-only``), ``rerun`` (the new agent's own replies become the history),
``rescore`` (a scorer over stored transcripts, nothing generated: ``--scorer NAME`` from
`SCORERS` or any ``module:function``). Output folder: ``results.jsonl`` (append-only, one
record per conversation with its new transcript), ``summary.json``, ``run.json``.
``--resume`` continues an interrupted run; the exit code is 1 when any conversation failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from improv.options import add_json_option, add_judge_option, add_model_options, print_json

#: rescore scorers the front end knows: name -> "module:function", imported only when used.
#: A scorer takes a Transcript and returns a number, a dict (a numeric "score" is averaged in
#: the summary) or a pydantic model; it may be async.
SCORERS: dict[str, str] = {
    "exact": "improv.transcripts.replay.compare:exact_scorer",
    "twentyq": "improv.games.game:twentyq_remaining",
}


def resolve_scorer(spec: str):
    import importlib

    from improv.agents.errors import ConfigError

    target = SCORERS.get(spec, spec)
    module_name, sep, func = target.partition(":")
    if not sep:
        known = ", ".join(sorted(SCORERS))
        raise ConfigError(f"--scorer {spec!r}: unknown scorer; known: {known}, or module:function")
    try:
        return getattr(importlib.import_module(module_name), func)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"--scorer {spec!r}: cannot load {target}: {err}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="transcript files, folders, globs, or OpenAI-style messages .jsonl")
    g = parser.add_argument_group("replay")
    g.add_argument("--mode", choices=["regenerate", "rerun", "rescore"], default="regenerate",
                   help="regenerate: new replies on the recorded history (default); rerun: the new agent's replies "
                        "become the history; rescore: score stored transcripts, nothing generated")
    g.add_argument("--last-only", action="store_true", help="regenerate only the last assistant turn")
    g.add_argument("-k", type=int, default=1, help="samples per regenerated turn (default 1)")
    g.add_argument("--concurrency", "-c", type=int, default=16,
                   help="conversations in flight, and requests per endpoint (default 16)")
    g.add_argument("--out", default=None, metavar="DIR",
                   help="folder for results.jsonl, summary.json and run.json (default: a new $IMPROV_DATA_DIR/replays/<time>, "
                        "else in the user data dir's replays folder)")
    g.add_argument("--resume", action="store_true", help="continue the run in --out: skip finished conversations")
    g.add_argument("--retry-failed", action="store_true", help="with --resume: try failed conversations again")
    add_judge_option(g, "judge model for agreement with the recorded replies")
    g.add_argument("--scorer", default="exact", help=f"rescore: one of {', '.join(SCORERS)} or module:function")
    g.add_argument("--provider-batch", action="store_true",
                   help="submit through the OpenAI Batch API / Anthropic Message Batches (regenerate only)")
    g.add_argument("--poll-interval", type=float, default=30.0, help="provider batch: seconds between polls")
    g.add_argument("--price-in", type=float, default=None, help="USD per million input tokens (for the cost)")
    g.add_argument("--price-out", type=float, default=None, help="USD per million output tokens")
    g.add_argument("--export", default=None, metavar="DIR", help="also write the new transcripts as files into DIR")
    add_model_options(parser, samples=False)
    add_json_option(parser)


def _out_dir(args):
    from pathlib import Path

    from improv.agents.errors import ConfigError
    from improv.transcripts.store import replays_dir

    if args.out:
        return Path(args.out)
    if args.resume:
        raise ConfigError("--resume needs --out: the folder of the run to continue")
    return replays_dir() / time.strftime("%Y%m%d-%H%M%S")


def _progress_ui(console, enabled: bool):
    """A Rich progress bar (done / failed / retrying, rate, ETA) fed by the runner's callbacks."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("[bold]replay"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("[green]done {task.fields[done]}"), TextColumn("[red]failed {task.fields[failed]}"),
        TextColumn("[yellow]retrying {task.fields[retrying]}"), TextColumn("{task.fields[rate]}/s"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, disable=not enabled, transient=False,
    )
    task = bar.add_task("replay", total=None, done=0, failed=0, retrying=0, rate="0.0")
    last = [0.0]

    def on_progress(p) -> None:
        now = time.monotonic()
        finished = p.finished
        if now - last[0] < 0.1 and finished + p.skipped < p.total:
            return  # the bar redraws ten times a second anyway
        last[0] = now
        rate = finished / p.elapsed if p.elapsed > 0 else 0.0
        bar.update(task, total=p.total, completed=p.skipped + finished, done=p.done + p.skipped,
                   failed=p.failed, retrying=p.retrying, rate=f"{rate:.1f}")

    return bar, on_progress


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from improv.agents.errors import ConfigError
    from improv.agents.model import aclose_all
    from improv.options import build_agent, build_judge
    from improv.transcripts.replay.compare import Prices
    from improv.transcripts.replay.inputs import load_inputs
    from improv.transcripts.replay.runner import export_transcripts, run_replay

    if args.k < 1:
        raise ConfigError("-k: must be at least 1")
    if args.concurrency < 1:
        raise ConfigError("--concurrency: must be at least 1")
    if not args.inputs:
        raise ConfigError("no INPUT: name transcript files, folders, globs or messages .jsonl files")
    if args.retry_failed and not args.resume:
        raise ConfigError("--retry-failed goes with --resume")
    if (args.price_in is None) != (args.price_out is None):
        raise ConfigError("--price-in and --price-out go together")
    prices = Prices(input=args.price_in, output=args.price_out) if args.price_in is not None else None
    out = _out_dir(args)
    items = load_inputs(args.inputs)
    if not items:
        raise ConfigError("the inputs hold no conversation")

    args.max_connections = args.concurrency
    run_info = {"mode": args.mode, "inputs": list(args.inputs)}
    models = []
    if args.mode == "rescore":
        from improv.transcripts.replay.modes import Rescore

        mode = Rescore(resolve_scorer(args.scorer), args.scorer)
        run_info["scorer"] = args.scorer
    else:
        from improv.transcripts.replay.modes import Regenerate, Rerun

        agent = build_agent(args)
        judge = build_judge(args)
        if args.mode == "regenerate":
            mode = Regenerate(agent, k=args.k, last_only=args.last_only, judge=judge)
        else:
            if args.last_only:
                raise ConfigError("--last-only goes with --mode regenerate")
            mode = Rerun(agent, k=args.k, judge=judge)
        models = [agent.model] + ([judge] if judge else [])
        run_info.update(model=agent.model.name, persona=agent.persona.name if agent.persona else None,
                        k=args.k, last_only=args.last_only, config=agent.config.model_dump(exclude_defaults=True),
                        judge=args.judge)
    if args.provider_batch and args.mode != "regenerate":
        raise ConfigError("--provider-batch works with --mode regenerate (rerun needs each reply before the next turn)")

    console = Console(stderr=True)
    bar, on_progress = _progress_ui(console, enabled=console.is_terminal and not args.json)

    async def go():
        try:
            if args.provider_batch:
                from improv.transcripts.replay.provider_batch import run_provider_batch

                return await run_provider_batch(
                    items, mode, out, resume=args.resume, retry_failed=args.retry_failed, run_info=run_info,
                    prices=prices, poll_interval=args.poll_interval, on_progress=on_progress,
                    on_status=(lambda s: console.print(f"batch {s}", markup=False, highlight=False))
                    if not args.json else None,
                )
            return await run_replay(
                items, mode, out, concurrency=args.concurrency, resume=args.resume, retry_failed=args.retry_failed,
                models=models, run_info=run_info, prices=prices, on_progress=on_progress,
            )
        finally:
            await aclose_all(*models)

    with bar:
        result = asyncio.run(go())
    exported = export_transcripts(out, args.export) if args.export else []
    if args.json:
        data = result.summary.model_dump(mode="json")
        data["out"] = str(out)
        data["exit_code"] = result.exit_code
        data["skipped"] = result.progress.skipped
        if args.export:
            data["exported"] = [str(p) for p in exported]
        print_json(data)
        return result.exit_code
    _render(result, out, exported)
    return result.exit_code


def _fmt(value) -> str:
    return "-" if value is None else f"{value:g}"


def _share(successes: float, n: int) -> str:
    """``k/n share [95% interval]``; n/a when there was nothing to compare."""
    from improv.evaluator.stats import wilson_interval

    if not n:
        return "n/a (nothing to compare)"
    k = round(successes)
    low, high = wilson_interval(k, n)
    return f"{k}/{n} {k / n:.1%} [{low:.1%}-{high:.1%}]"


def _render(result, out, exported) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from improv.agents.text import printable

    console = Console()
    o = result.summary.overall
    table = Table(title="replay summary", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = [
        ("conversations", str(o.conversations)), ("done", str(o.done)), ("failed", str(o.failed)),
        ("skipped (already done)", str(result.progress.skipped)),
        ("replies compared", str(o.compared)), ("exact match", _share(o.matches, o.compared)),
        ("judge agreement", _share((o.judge or 0) * o.judged, o.judged) if o.judge is not None else "-"),
        ("mean score", _fmt(o.score)),
        ("tokens in / out", f"{o.usage.get('input_tokens', 0)} / {o.usage.get('output_tokens', 0)}"),
        ("cost (USD)", f"{o.cost:.4f}" if o.cost is not None else "-"),
        ("retries", str(result.progress.retries)), ("output", str(out)),
    ]
    if exported:
        rows.append(("exported transcripts", str(len(exported))))
    for k, v in rows:
        table.add_row(k, Text(v))
    console.print(table)
    failed = [c for c in result.summary.conversations if c.status != "ok"]
    if failed:
        ft = Table("conversation", "reason", title=f"failures ({len(failed)})")
        for c in failed[:20]:
            ft.add_row(Text(printable(c.id)), Text(printable(c.error or "")))
        console.print(ft)
        if len(failed) > 20:
            console.print(Text(f"... and {len(failed) - 20} more in {out}/summary.json"))
    if o.failed and sys.stderr.isatty():
        Console(stderr=True).print(Text("some conversations failed: exit code 1 (improv replay --resume --retry-failed retries them)"))
