"""`improv introspect`: the hypothetical self-prediction quiz (Binder et al. 2024), live.

Prints a task x property table: self-prediction accuracy, the mode baseline, cross-prediction
accuracy for each --predictor, calibration MAD; saves one transcript per task and a summary JSON.

- ``improv introspect train -m MODEL --out DIR [--predict-for OTHER]``: self-prediction training
  (or cross-prediction training on OTHER's behaviour); writes a model folder ``hf/DIR`` loads.
- ``improv introspect experiment --models A=MODEL B=MODEL --out RUN``: the whole experiment
  (self vs cross, before/after, calibration, behaviour change), resumable.
- ``improv introspect show --out RUN``: a finished (or partial) run's tables.
"""

from __future__ import annotations

import argparse
import asyncio

from improv.options import add_json_option, add_judge_option, add_model_options, add_save_options, build_judge, build_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", default="quiz", choices=["quiz", "train", "experiment", "show"],
                        help="quiz (default): the live quiz; train: self-prediction training; experiment: the whole "
                             "training experiment on two models; show: a run folder's tables")
    add_model_options(parser, persona=False, settings=(), model_help="model quizzed (train: the model trained)")
    parser.add_argument("--predictor", action="append", default=[], metavar="MODEL",
                        help="cross-predictor: another model answering the hypotheticals (repeatable)")
    add_judge_option(parser, "judge model for judge-scored properties (sentiment)")
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
    add_save_options(parser, "the transcripts and the summary (train: the new model folder; experiment, show: the run folder)")
    add_json_option(parser)
    t = parser.add_argument_group("training (train, experiment)")
    t.add_argument("--predict-for", default=None, metavar="MODEL",
                   help="train: learn OTHER's behaviour instead of the model's own (the cross-predictor)")
    t.add_argument("--models", nargs=2, default=None, metavar="LABEL=MODEL",
                   help="experiment: the two in-process models, e.g. organism=organism smollm2=hf/PATH.gguf")
    t.add_argument("--plan", default=None, metavar="FILE", help="training/held-out tasks (default: the built-in plan)")
    t.add_argument("--train-per-task", type=int, default=None, metavar="N", help="at most N prompts per training task")
    t.add_argument("--held-out-per-task", type=int, default=None, metavar="N", help="experiment: at most N prompts per held-out task")
    t.add_argument("--epochs", type=float, default=2.0, help="training epochs (default 2)")
    t.add_argument("--method", choices=["auto", "lora", "full"], default="auto",
                   help="auto (default): full fine-tuning for the built-in model, LoRA (peft) for any other")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default 5e-4 LoRA, 3e-4 full)")


def _resolve_tasks(specs: list[str] | None, properties):
    from pathlib import Path

    from improv.evaluator.introspection.tasks import builtin_task_dir, load_tasks

    names, paths = [], []
    for spec in specs or []:
        (paths if spec.endswith((".yaml", ".yml")) or Path(spec).is_dir() or "/" in spec else names).append(spec)
    tasks = load_tasks(paths, properties=properties)
    if paths and not names:
        # the tasks the given files define (each task keeps its source file): no second parse
        names = [t.name for t in tasks.values() if not Path(t.source or "").is_relative_to(builtin_task_dir())]
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
    from improv.personas.storage import atomic_write

    summary = directory / f"introspection-{report.created.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write(summary, report.model_dump_json(indent=2))
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
    for col in ["task", "property", "n", "excluded", "self acc.", "baseline (mode)", *[f"cross: {c}" for c in cross_names],
                "compliant (free text)", "calib. MAD / TV", "shift: follows new"]:
        table.add_column(Text(col))
    rows = report.cells + report.by_property + report.overall
    for c in rows:
        if c is (report.by_property or [None])[0] or c is report.overall[0]:
            table.add_section()
        cal = c.calibration
        mad = "–" if cal is None or cal.mad is None else (
            f"{cal.mad:.1f}" + (f" / {cal.tv:.2f}" if cal.tv is not None else "") + f" (n={cal.n_items})")
        shift = "–" if c.shift is None else f"{_pct(c.shift.follows_new)} of {c.shift.changed}"
        above = c.above_baseline
        style = "green" if above else ("red" if above is False else "")
        label_task = c.task if c.group == "all" else f"{c.task} ({c.group})"
        table.add_row(
            Text(label_task), Text(c.property), Text(str(c.self_accuracy.n)), Text(f"{c.excluded}/{c.items}"),
            Text(_pct(c.self_accuracy), style=style),
            Text(_pct(c.baseline) + (f" '{c.baseline_mode}'" if c.baseline_mode else "")),
            *[Text(_pct(c.cross.get(n))) for n in cross_names],
            Text(_pct(c.compliance)), Text(mad), Text(shift),
        )
    return table


def run(args: argparse.Namespace) -> int:
    if args.action == "train":
        return run_train(args)
    if args.action == "experiment":
        return run_experiment(args)
    if args.action == "show":
        return run_show(args)
    return run_quiz(args)


def _bar(label: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(label + " {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def run_train(args: argparse.Namespace) -> int:
    from rich.console import Console

    from improv.agents.errors import ConfigError
    from improv.evaluator.introspection.experiment import method_for, source_of
    from improv.evaluator.introspection.finetune import FinetuneSettings, finetune
    from improv.evaluator.introspection.quiz import default_mode_samples
    from improv.evaluator.introspection.training import load_plan, mix, object_answers, self_prediction_examples
    from improv.options import print_json

    if not args.out:
        raise ConfigError("--out: train needs the new model folder (--out DIR)")
    from pathlib import Path

    if Path(args.out).expanduser().exists():
        raise ConfigError(f"--out {args.out}: already exists; choose a new folder")
    model = build_model(args)
    source = source_of(model)
    target = build_model(args, args.predict_for, setting="--predict-for") if args.predict_for else model
    plan = load_plan(args.plan)
    items = plan.items("train", n=args.train_per_task)
    method = method_for(model) if args.method == "auto" else args.method
    settings = FinetuneSettings(method=method, epochs=args.epochs, lr=args.lr)

    async def answers(m, bar, label):
        task = bar.add_task(label, total=len(items))
        samples = args.mode_samples or default_mode_samples(m)
        return await object_answers(m, items, samples=samples, progress=lambda d, t: bar.update(task, completed=d))

    with _bar("train") as bar:
        async def collect():
            # the targets are the behaviour of the model predicted: its own, or OTHER's; so a
            # cross-predictor gets exactly the examples OTHER's self-predictor gets (same number and mix)
            try:
                return await answers(target, bar, f"answers of {target.name}")
            finally:
                for m in {id(m): m for m in (model, target)}.values():
                    await m.aclose()

        examples, dropped = self_prediction_examples(items, asyncio.run(collect()))
        task = bar.add_task(f"fine-tuning ({method})", total=1)
        result = finetune(source, examples, args.out, settings,
                          progress=lambda d, t, loss: bar.update(task, completed=d, total=t,
                                                                 description=f"fine-tuning ({method}) loss {loss:.3f}"),
                          meta={"model": model.name, "behaviour_of": target.name, "dropped": dropped,
                                "mix": {"/".join(k): v for k, v in mix(examples).items()}})
    if args.json:
        print_json({"result": result.model_dump(), "dropped": dropped,
                    "mix": {"/".join(k): v for k, v in mix(examples).items()}})
        return 0
    console = Console(highlight=False)
    console.print(f"trained {model.name} to predict {target.name}: {result.examples} examples "
                  f"({', '.join(f'{k} {v}' for k, v in dropped.items())} dropped), {result.steps} steps, "
                  f"loss {result.first_loss:.3f} -> {result.last_loss:.3f}", markup=False)
    console.print(f"model folder: {result.out}  (load it with -m hf/{result.out})", markup=False)
    return 0


def render_tables(result):
    from rich.table import Table
    from rich.text import Text

    from improv.evaluator.introspection.tables import experiment_tables

    out = []
    for t in experiment_tables(result):
        table = Table(title=Text(t.title), caption=Text(t.note) if t.note else None)
        for h in t.header:
            table.add_column(Text(h))
        for row in t.rows:
            table.add_row(*[Text(c) for c in row])
        out.append(table)
    return out


def _models_option(args) -> dict[str, str]:
    from improv.agents.errors import ConfigError

    if not args.models:
        raise ConfigError("--models: experiment needs two models, e.g. --models organism=organism smollm2=hf/PATH")
    out = {}
    for spec in args.models:
        label, sep, model = spec.partition("=")
        if not sep or not label or not model:
            raise ConfigError(f"--models {spec!r}: expected LABEL=MODEL")
        out[label] = model
    if len(out) != 2:
        raise ConfigError("--models: the two labels must differ")
    return out


def run_experiment(args: argparse.Namespace) -> int:
    from rich.console import Console

    from improv.agents.errors import ConfigError
    from improv.evaluator.introspection.experiment import Experiment, ExperimentSettings
    from improv.evaluator.introspection.training import load_plan
    from improv.options import print_json

    if not args.out:
        raise ConfigError("--out: experiment needs a run folder (--out RUN; an existing one resumes)")
    specs = _models_option(args)
    models = {label: build_model(args, m, setting="--models") for label, m in specs.items()}
    settings = ExperimentSettings(train_per_task=args.train_per_task, held_out_per_task=args.held_out_per_task,
                                  epochs=args.epochs, change_epochs=args.epochs,
                                  **({"lr_lora": args.lr, "lr_full": args.lr} if args.lr else {}))
    exp = Experiment(models, args.out, lambda s: build_model(args, s, setting="--models"),
                     plan=load_plan(args.plan), settings=settings)

    async def go(cb):
        try:
            return await exp.run_all(cb)
        finally:
            for m in models.values():
                await m.aclose()

    with _bar("experiment") as bar:
        task = bar.add_task("", total=1)
        result = asyncio.run(go(lambda what, d, t: bar.update(task, description=what, completed=d, total=max(t, 1))))
    if args.json:
        print_json(result)
        return 0
    console = Console(highlight=False)
    for table in render_tables(result):
        console.print(table)
    console.print(f"run folder: {exp.run} (models, answers, quizzes, results.json)", markup=False)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from rich.console import Console

    from improv.agents.errors import ConfigError
    from improv.evaluator.introspection.experiment import analyse
    from improv.options import print_json

    if not args.out:
        raise ConfigError("--out: show needs the run folder (--out RUN)")
    result = analyse(args.out)
    if args.json:
        print_json(result)
        return 0
    console = Console(highlight=False)
    for table in render_tables(result):
        console.print(table)
    return 0


def run_quiz(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from improv.agents.errors import ConfigError
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
    from improv.evaluator.introspection.quiz import default_tasks

    wanted = args.properties
    excluded: dict[str, str] = {}
    if wanted is None:
        # judge-scored properties only when a judge is given, and the report says so
        wanted = [p for p in properties if not properties[p].judged or args.judge]
        excluded = {p: "judge-scored (its value is a judge's label); give --judge MODEL to include it"
                    for p in properties if p not in wanted}
    model = build_model(args)
    if names is None and not args.tasks:
        names = default_tasks(model)
        if names:
            Console(stderr=True, highlight=False).print(
                f"tasks: {', '.join(names)} (the tasks {model.name} can answer; --tasks to choose)", markup=False)
    items = select(tasks, names, wanted, args.n or None)
    split = load_split(args.split) if args.split else None
    shift = None
    if args.shift_persona:
        from improv.personas import get_persona  # type: ignore[attr-defined]

        shift = get_persona(args.shift_persona).render(**parse_vars(args.var))
    settings = QuizSettings(k=args.k, mode_samples=args.mode_samples, shift_system_prompt=shift,
                            shift_label=args.shift_persona, concurrency=max(1, args.concurrency))
    predictors = [build_model(args, p, setting="predictor") for p in args.predictor]
    judge = build_judge(args)
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
    report.excluded_properties = excluded
    saved = [] if args.no_save else save_report(report, args.out)
    if args.json:
        print_json(report)
        return 0
    console.print(render_table(report))
    for line in report.notes():
        console.print(line, markup=False)
    if saved:
        from improv.agents.text import plural

        console.print(f"saved {plural(len(saved) - 1, 'transcript')} and the summary {saved[-1]}", markup=False)
    return 0
