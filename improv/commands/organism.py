"""`improv organism info|check|train`: the built-in model, its planted behaviours, and training it."""

from __future__ import annotations

import argparse
import asyncio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from improv.options import add_json_option, add_model_options

    sub = parser.add_subparsers(dest="action", metavar="{info,check,train}")
    sub.required = True
    p = sub.add_parser("info", help="what the built-in model is, its size and files")
    p.add_argument("--dir", default=None, metavar="DIR", help="model folder to describe (default: the shipped model)")
    add_json_option(p)
    p = sub.add_parser("check", help="measure the planted behaviours against the ground truth")
    add_model_options(p, persona=False, settings=(), model_help="model to check: organism or organism/<dir>",
                      defaults={"model": "organism"})
    p.add_argument("--samples", type=int, default=20, help="samples per item (default 20, at least 2)")
    p.add_argument("--games", type=int, default=30, help="20 Questions games per condition (default 30)")
    p.add_argument("--seed", type=int, default=0, help="seed for the question order")
    p.add_argument("--no-introspection", action="store_true", help="skip the introspection figures")
    add_json_option(p)
    p = sub.add_parser(
        "train", help="train the built-in model from scratch (CPU): by default the shipped model's recipe",
        description="By default, runs the recipe that made the shipped weights (organism/recipe.py: 18,892 steps "
                    "in five stages, each with its corpus mix, soft-target weight and learning rate; the recorded "
                    "runs took about 193 min on 2 CPU cores) into a new folder. Ctrl-C finishes the step, saves a "
                    "checkpoint and exits; --resume --out DIR continues it in the right stage. --steps, --minutes, "
                    "--mix or --soft-weight make a custom run instead (one schedule, the default mix after a first "
                    "stage).")
    p.add_argument("--steps", type=int, default=None, help="custom run: optimizer steps (schedule length)")
    p.add_argument("--minutes", type=float, default=None,
                   help="custom run: wall-time budget (default 60 when a custom run gives no --steps)")
    p.add_argument("--out", default=None,
                   help="folder for the trained model (default: a new $IMPROV_DATA_DIR/organism/train-<time>, else in "
                        "the user data dir; never the shipped model)")
    p.add_argument("--overwrite-shipped", action="store_true",
                   help="allow --out to be the shipped model directory (its weights are replaced)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint: a recipe run in the stage of its step, with its optimizer state; "
                        "with no --steps/--minutes/--mix/--soft-weight, as the checkpoint was made")
    p.add_argument("--seed", type=int, default=0, help="seed for initial weights, corpus and batch order (default 0)")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per optimizer step (default 32, as the recipe)")
    p.add_argument("--mix", default=None, metavar="KIND=W,...",
                   help="custom run: corpus mix after the first stage, e.g. fact=0.2,tq_committed=0.3 "
                        "(default: organism.corpus.MIX)")
    p.add_argument("--soft-weight", type=float, default=None,
                   help="custom run: weight of replies with a known distribution (20 Questions answers and reveals) in "
                        "the loss (default 1)")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads (default 2; use 1 when other work shares a 2-core machine, where 2 ran 3-4x slower)")
    p.add_argument("--bf16", action="store_true",
                   help="bf16 autocast: about 1.3x faster per step; use it to continue a trained model (from scratch it "
                        "formed no retrieval in 800 steps)")
    # the recipe stretched to N steps (stage boundaries, warm-up and cosine alike): smoke runs only
    p.add_argument("--recipe-steps", type=int, default=None, help=argparse.SUPPRESS)
    add_json_option(p)


def run(args: argparse.Namespace) -> int:
    return {"info": _info, "check": _check, "train": _train}[args.action](args)


def _size(path) -> int:
    return path.stat().st_size if path.exists() else 0


def _info(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from improv.agents.errors import ConfigError
    from improv.options import print_json
    from improv.organism.paths import MANIFEST_PATH, MODEL_DIR

    directory = Path(args.dir) if args.dir else MODEL_DIR
    config_path = directory / "config.json"
    if not config_path.exists():
        raise ConfigError(f"{config_path}: no model here (train one with: improv organism train --out {directory})")
    config = json.loads(config_path.read_text())
    training = json.loads((directory / "training.json").read_text()) if (directory / "training.json").exists() else {}
    files = {p.name: _size(p) for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith(".")}
    params = training.get("parameters")
    info = {
        "name": "organism",
        "what": "the built-in model: a small Llama-architecture causal LM trained by improv on a synthetic world "
                "(capitals with planted false beliefs and unseen countries, deceptive personas, 20 Questions "
                "over a fixed object table, introspection prompts); its ground truth is the manifest",
        "directory": str(directory),
        "architecture": (config.get("architectures") or ["?"])[0],
        "layers": config.get("num_hidden_layers"),
        "hidden_size": config.get("hidden_size"),
        "vocab_size": config.get("vocab_size"),
        "parameters": params,
        "training": {**{k: training.get(k) for k in ("steps", "final_loss", "elapsed_seconds", "tokens")},
                     "recipe": (training.get("recipe") or {}).get("name")} if training else None,
        "files": files,
        "manifest": str(MANIFEST_PATH),
        "model_string": "organism",
    }
    if args.json:
        print_json(info)
        return 0
    console = Console()
    t = Table(title="improv organism", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    for key in ("what", "model_string", "architecture", "layers", "hidden_size", "vocab_size", "parameters", "directory", "manifest"):
        t.add_row(key, str(info[key]))
    if info["training"]:
        tr = info["training"]
        recipe = f" (recipe {tr['recipe']})" if tr["recipe"] else ""
        t.add_row("training", f"{tr['steps']} steps{recipe}, {tr['tokens']} tokens, {tr['elapsed_seconds']} s, "
                              "final loss " + ("-" if tr["final_loss"] is None else f"{tr['final_loss']:.3f}"))
    for name, size in files.items():
        t.add_row("file", f"{name} ({size / 1e6:.2f} MB)")
    console.print(t)
    return 0


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn
    from rich.table import Table
    from rich.text import Text

    from improv.agents.errors import ConfigError
    from improv.options import build_model, print_json
    from improv.organism.check import CheckPlan, run_check_async

    if args.samples < 2:
        raise ConfigError("--samples: must be at least 2")
    if args.games < 1:
        raise ConfigError("--games: must be at least 1")
    model = build_model(args)
    plan = CheckPlan(samples=args.samples, games=args.games, seed=args.seed, introspection=not args.no_introspection)
    console = Console(stderr=True)

    async def go(progress_cb):
        try:
            return await run_check_async(model, plan, progress_cb)
        finally:
            await model.aclose()

    if args.json or not console.is_terminal:
        report = asyncio.run(go(None))
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      console=console, transient=True) as progress:
            tasks: dict[str, int] = {}

            def cb(stage: str, i: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=i)

            report = asyncio.run(go(cb))
    if args.json:
        print_json(report.summary())
        return 0 if report.passed else 1
    table = Table(title=f"organism check: {report.model}, {report.samples} samples per item, temperature 1",
                  caption=Text("95% interval: bootstrap over the units the samples come in (countries, games, prompts); "
                               "blind: what an answerer blind to the object scores"))
    for col in ("metric", "value", "95% interval", "blind", "threshold", "items", "pass"):
        # numbers never wrap: the metric's name takes the squeeze on a narrow terminal
        table.add_column(col, justify="left" if col in ("metric", "pass") else "right", no_wrap=col != "metric")
    for m in report.metrics:
        digits = 2 if m.key == "unseen_distinct" else 3
        value = "n/a" if m.value is None else f"{m.value:.{digits}f}"
        interval = "-" if m.value is None else f"{m.low:.{digits}f}-{m.high:.{digits}f}"
        thr = "-" if m.threshold is None else (f"≥ {m.threshold:g}")
        ok = ("n/a" if m.value is None else "report") if m.passed is None else ("yes" if m.passed else "NO")
        style = None if m.passed is None else ("green" if m.passed else "red")
        base = "-" if m.baseline is None else f"{m.baseline:.3f}"
        items = str(m.items) if not m.units else f"{m.items} {m.unit}" if m.units == m.items else f"{m.items} in {m.units} {m.unit}"
        table.add_row(Text(m.name), value, interval, base, thr, items, Text(ok, style=style))
    Console().print(table)
    Console().print("all thresholds met" if report.passed else "some thresholds NOT met")
    return 0 if report.passed else 1


def _command(args: argparse.Namespace, out: str) -> str:
    """The command as the user could type it again (recorded in training.json's history)."""
    import shlex

    words = ["improv", "organism", "train", "--out", out]
    for flag, value in (("--steps", args.steps), ("--minutes", args.minutes), ("--mix", args.mix),
                        ("--soft-weight", args.soft_weight), ("--recipe-steps", args.recipe_steps)):
        if value is not None:
            words += [flag, str(value)]
    if args.seed:
        words += ["--seed", str(args.seed)]
    if args.batch_size != 32:
        words += ["--batch-size", str(args.batch_size)]
    words += ["--threads", str(args.threads)]
    words += [flag for flag, on in (("--resume", args.resume), ("--bf16", args.bf16),
                                    ("--overwrite-shipped", args.overwrite_shipped)) if on]
    return shlex.join(words)


def _train(args: argparse.Namespace) -> int:
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from improv.agents.errors import ConfigError
    from improv.options import print_json
    from improv.organism.manifest import write_manifest
    from improv.organism.paths import MODEL_DIR
    from improv.organism.recipe import SHIPPED
    from improv.organism.train import TrainConfig, TrainingInterrupted, default_out, train, writes_shipped_model

    if args.steps is not None and args.steps < 1:
        raise ConfigError("--steps: must be at least 1")
    if args.minutes is not None and args.minutes <= 0:
        raise ConfigError("--minutes: must be positive")
    if args.soft_weight is not None and args.soft_weight <= 0:
        raise ConfigError("--soft-weight: must be positive")
    mix = _parse_mix(args.mix) if args.mix else None
    custom = any(v is not None for v in (args.steps, args.minutes, args.mix, args.soft_weight))
    if args.recipe_steps is not None:
        if custom:
            raise ConfigError("--recipe-steps: scales the recipe; it does not go with --steps, --minutes, --mix or "
                              "--soft-weight")
        if args.recipe_steps < len(SHIPPED.stages):
            raise ConfigError(f"--recipe-steps: must be at least {len(SHIPPED.stages)} (one step per stage)")
    if args.resume and not args.out:
        raise ConfigError("--resume needs --out: the folder of the training run to continue")
    if args.out and writes_shipped_model(args.out) and not args.overwrite_shipped:
        raise ConfigError(f"--out {args.out}: is the shipped model ({MODEL_DIR}); pass --overwrite-shipped to "
                          "replace its weights, or choose another --out")
    out = args.out or default_out()
    common = dict(out=out, overwrite_shipped=args.overwrite_shipped, resume=args.resume, seed=args.seed,
                  batch_size=args.batch_size, threads=max(1, args.threads), bf16=args.bf16,
                  command=_command(args, out))
    if custom:
        minutes = args.minutes if (args.minutes is not None or args.steps is not None) else 60.0
        cfg = TrainConfig(**common, steps=args.steps, minutes=minutes, corpus_mix=mix,
                          soft_weight=1.0 if args.soft_weight is None else args.soft_weight,
                          warmup=min(150, max(1, (args.steps or 10**6) // 10)))
    elif args.resume and args.recipe_steps is None:
        cfg = TrainConfig(**common)  # continues as the checkpoint was made
    else:
        recipe = SHIPPED if args.recipe_steps is None else SHIPPED.scaled(args.recipe_steps)
        cfg = TrainConfig(**common, recipe=recipe)
    console = Console(stderr=True)
    try:
        if args.json or not console.is_terminal:
            last = [0.0]

            def cb(s):
                if not args.json and time.time() - last[0] > 10:
                    last[0] = time.time()
                    stage = f" stage {s.stage}" if s.stage else ""
                    console.print(f"step {s.step}/{s.total or '?'}{stage} loss {s.loss:.4f} lr {s.lr:.2e} {s.elapsed:.0f}s",
                                  markup=False, highlight=False)

            result = train(cfg, cb)
        else:
            with Progress(TextColumn("training"), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                          console=console) as progress:
                task = progress.add_task("train", total=None, info="")

                def cb(s):
                    # by steps when the run has a length (a recipe, --steps), else by its time budget
                    total, done = (s.total, s.step) if s.total else ((cfg.minutes or 60) * 60, s.elapsed)
                    stage = f" {s.stage}" if s.stage else ""
                    progress.update(task, total=total, completed=done,
                                    info=f"step {s.step}{stage} loss {s.loss:.3f} lr {s.lr:.1e}")

                result = train(cfg, cb)
    except TrainingInterrupted as stop:
        result = stop.result
        if args.json:
            print_json(result)
        console.print(f"interrupted at step {result.steps}" + (f" (stage {result.stage})" if result.stage else "")
                      + f"; checkpoint saved; continue with: improv organism train --resume --out {result.out}",
                      markup=False, highlight=False, soft_wrap=True)
        return 130
    if writes_shipped_model(cfg.out):  # the manifest describes the shipped model only
        write_manifest()
    if args.json:
        print_json(result)
    else:
        what = f"recipe {result.recipe}, " if result.recipe else ""
        Console().print(f"saved {result.out}: {what}{result.steps}/{result.total_steps} steps, final loss "
                        f"{result.final_loss:.3f}, {result.elapsed:.0f} s, {result.parameters} parameters",
                        markup=False, highlight=False)
    return 0


def _parse_mix(text: str) -> dict[str, float]:
    from improv.agents.errors import ConfigError
    from improv.organism.corpus import KINDS

    mix: dict[str, float] = {}
    for part in text.split(","):
        kind, sep, weight = part.partition("=")
        kind = kind.strip()
        try:
            w = float(weight)
        except ValueError:
            w = -1.0
        if not sep or kind not in KINDS or w < 0:
            raise ConfigError(f"--mix: {part.strip()!r} is not KIND=WEIGHT with KIND one of {', '.join(KINDS)}")
        mix[kind] = w
    if sum(mix.values()) <= 0:
        raise ConfigError("--mix: the weights must not all be zero")
    return mix
