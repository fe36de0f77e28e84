"""`improv introspect`: the hypothetical self-prediction quiz (Binder et al. 2024), live.

Prints a task x property table: self-prediction accuracy, the mode baseline, cross-prediction
accuracy for each --predictor, calibration MAD; saves one transcript per task and a summary JSON.
"""

from __future__ import annotations

import argparse
import asyncio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", default=None, help="model quizzed (default: $IMPROV_MODEL or the built-in model)")
    parser.add_argument("--predictor", action="append", default=[], metavar="MODEL",
                        help="cross-predictor: another model answering the hypotheticals (repeatable)")
    parser.add_argument("--judge", default=None, metavar="MODEL", help="judge model for judge-scored properties (sentiment)")
    parser.add_argument("--tasks", nargs="+", default=None, metavar="TASK_OR_PATH",
                        help="task names, or YAML files/directories of your own tasks (default: all built-in tasks)")
    parser.add_argument("--properties", nargs="+", default=None, metavar="PROPERTY", help="only these properties")
    parser.add_argument("-n", type=int, default=10, help="prompts per task (default 10; 0 = all)")
    parser.add_argument("-k", type=int, default=0, help="calibration samples per prompt at temperature 1 (default 0: off)")
    parser.add_argument("--mode-samples", type=int, default=None, help="temperature-0 samples for the mode (default: 1 local, 5 remote)")
    parser.add_argument("--shift-persona", default=None, metavar="PERSONA",
                        help="behaviour-shift check: persona name/file whose system prompt changes the object level")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="shift persona template variable")
    parser.add_argument("--split", default=None, metavar="FILE",
                        help="JSON/YAML {trained: [{task|prompt|property: ...}]}: report trained vs held-out separately")
    parser.add_argument("--list", action="store_true", help="list tasks and properties and exit")
    parser.add_argument("--concurrency", type=int, default=4, help="items in flight at once")
    parser.add_argument("--cache", action="store_true", help="use the on-disk response cache")
    parser.add_argument("--out", default=None, help="directory for transcripts and the summary (default: the data dir)")
    parser.add_argument("--no-save", action="store_true", help="do not save transcripts or the summary")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")


def _resolve_tasks(specs: list[str] | None, properties):
    from pathlib import Path

    from improv.evaluator.introspection.tasks import load_tasks

    names, paths = [], []
    for spec in specs or []:
        (paths if spec.endswith((".yaml", ".yml")) or Path(spec).is_dir() or "/" in spec else names).append(spec)
    tasks = load_tasks(paths, properties=properties)
    if paths and not names:
        from improv.evaluator.introspection.tasks import _files, _parse_task

        names = [_parse_task(f, properties).name for p in paths for f in _files(Path(p))]
    return tasks, names or None


def save_report(report, out: str | None) -> list[str]:
    """One transcript per task (kind=introspection) plus ``summaries/introspection-<time>.json``."""
    from pathlib import Path

    from improv.transcripts.store import default_dir, save

    from improv.evaluator.introspection.transcripts import report_transcripts

    directory = Path(out) if out else default_dir()
    paths = []
    for t in report_transcripts(report):
        paths.append(str(save(t, directory)))
    report.transcripts = paths
    # The summary is not a transcript: beside them it broke `transcripts list` and `replay DIR`,
    # which read every *.json in the folder (not its subfolders).
    directory = directory / "summaries"
    directory.mkdir(parents=True, exist_ok=True)
    summary = directory / f"introspection-{report.created.strftime('%Y%m%d-%H%M%S')}.json"
    tmp = summary.with_suffix(".json.tmp")
    tmp.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(summary)
    return [*paths, str(summary)]


def _pct(m) -> str:
    if m is None or m.value is None:
        return "–"
    return f"{100 * m.value:.0f}% [{100 * m.low:.0f}-{100 * m.high:.0f}]"


def render_table(report):
    from rich.table import Table
    from rich.text import Text

    cross_names = [p for p in report.predictors if p != report.model]
    table = Table(title=Text(f"Introspection quiz: {report.model}"), show_lines=False)
    for col in ["task", "property", "n", "self acc.", "baseline (mode)", *[f"cross: {c}" for c in cross_names],
                "compliant", "calib. MAD", "shift: follows new"]:
        table.add_column(Text(col))
    rows = report.cells + report.by_property + report.overall
    for c in rows:
        if c is (report.by_property or [None])[0] or c is report.overall[0]:
            table.add_section()
        mad = "–" if c.calibration is None or c.calibration.mad is None else f"{c.calibration.mad:.1f} (n={c.calibration.n_items})"
        shift = "–" if c.shift is None else f"{_pct(c.shift.follows_new)} of {c.shift.changed}"
        above = c.above_baseline
        style = "green" if above else ("red" if above is False else "")
        label_task = c.task if c.group == "all" else f"{c.task} ({c.group})"
        table.add_row(
            Text(label_task), Text(c.property), Text(str(c.self_accuracy.n)),
            Text(_pct(c.self_accuracy), style=style),
            Text(_pct(c.baseline) + (f" '{c.baseline_mode}'" if c.baseline_mode else "")),
            *[Text(_pct(c.cross.get(n))) for n in cross_names],
            Text(_pct(c.compliance)), Text(mad), Text(shift),
        )
    return table


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from improv.agents.errors import ConfigError
    from improv.agents.registry import get_model
    from improv.evaluator.introspection import Quiz, QuizSettings, load_properties, load_split, select
    from improv.options import parse_vars, print_json

    properties = load_properties()
    if args.properties:
        bad = [p for p in args.properties if p not in properties]
        if bad:
            raise ConfigError(f"--properties: unknown property {bad[0]!r}; known: {', '.join(properties)}")
    tasks, names = _resolve_tasks(args.tasks, properties)
    console = Console(highlight=False)
    if args.list:
        for t in tasks.values():
            console.print(f"{t.name} ({len(t.items)} prompts): {', '.join(t.properties)}", markup=False)
        console.print("properties: " + ", ".join(properties), markup=False)
        return 0
    if args.n < 0 or args.k < 0:
        raise ConfigError("-n and -k must be >= 0")
    wanted = args.properties
    if wanted is None:
        # judge-scored properties only when a judge is given
        wanted = [p for p in properties if not properties[p].judged or args.judge]
    items = select(tasks, names, wanted, args.n or None)
    split = load_split(args.split) if args.split else None
    shift = None
    if args.shift_persona:
        from improv.personas import get_persona  # type: ignore[attr-defined]

        shift = get_persona(args.shift_persona).render(**parse_vars(args.var))
    settings = QuizSettings(k=args.k, mode_samples=args.mode_samples, shift_system_prompt=shift,
                            shift_label=args.shift_persona, concurrency=max(1, args.concurrency))
    model = get_model(args.model, cache=args.cache)
    predictors = [get_model(p, cache=args.cache) for p in args.predictor]
    judge = get_model(args.judge, cache=args.cache) if args.judge else None
    quiz = Quiz(model, predictors=predictors, judge=judge, settings=settings, properties=properties, split=split)

    async def go(progress_cb):
        try:
            return await quiz.run(items, progress=progress_cb)
        finally:
            for m in {id(m): m for m in [model, *predictors, *([judge] if judge else [])]}.values():
                await m.aclose()

    if args.json:
        report = asyncio.run(go(None))
    else:
        with Progress(TextColumn("quiz"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task_id = bar.add_task("quiz", total=len(items))
            report = asyncio.run(go(lambda done, total: bar.update(task_id, completed=done, total=total)))
    saved = [] if args.no_save else save_report(report, args.out)
    if args.json:
        print_json(report)
        return 0
    console.print(render_table(report))
    if saved:
        console.print(f"saved {len(saved) - 1} transcript(s) and the summary {saved[-1]}", markup=False)
    return 0
