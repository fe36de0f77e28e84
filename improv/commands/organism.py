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
    p = sub.add_parser("train", help="train the built-in model from scratch (CPU)")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (schedule length)")
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget (default 60 when --steps is not given)")
    p.add_argument("--out", default=None,
                   help="folder for the trained model (default: a new $IMPROV_DATA_DIR/organism/train-<time>, else in "
                        "the user data dir; never the shipped model)")
    p.add_argument("--overwrite-shipped", action="store_true",
                   help="allow --out to be the shipped model directory (its weights are replaced)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--seed", type=int, default=0, help="seed for initial weights, corpus and batch order (default 0)")
    p.add_argument("--batch-size", type=int, default=32, help="sequences per optimizer step (default 32)")
    p.add_argument("--mix", default=None, metavar="KIND=W,...",
                   help="corpus mix after the first stage, e.g. fact=0.2,tq_committed=0.3 (default: organism.corpus.MIX)")
    p.add_argument("--soft-weight", type=float, default=1.0,
                   help="weight of replies with a known distribution (20 Questions answers and reveals) in the loss")
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads (default 2; use 1 when other work shares a 2-core machine, where 2 ran 3-4x slower)")
    p.add_argument("--bf16", action="store_true",
                   help="bf16 autocast: about 1.3x faster per step; use it to continue a trained model (from scratch it "
                        "formed no retrieval in 800 steps)")
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
        "training": {k: training.get(k) for k in ("steps", "final_loss", "elapsed_seconds", "tokens")} if training else None,
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
        t.add_row("training", f"{tr['steps']} steps, {tr['tokens']} tokens, {tr['elapsed_seconds']} s, final loss {tr['final_loss']:.3f}")
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
    table = Table(title=f"organism check: {report.model}, {report.samples} samples per item, temperature 1")
    for col in ("metric", "value", "blind baseline", "threshold", "items", "pass"):
        table.add_column(col, justify="left" if col in ("metric", "pass") else "right")
    for m in report.metrics:
        value = f"{m.value:.2f}" if m.key == "unseen_distinct" else f"{m.value:.3f}"
        thr = "-" if m.threshold is None else (f"≥ {m.threshold:g}")
        ok = "report" if m.passed is None else ("yes" if m.passed else "NO")
        style = None if m.passed is None else ("green" if m.passed else "red")
        base = "-" if m.baseline is None else f"{m.baseline:.3f}"
        table.add_row(Text(m.name), value, base, thr, str(m.items), Text(ok, style=style))
    Console().print(table)
    Console().print("all thresholds met" if report.passed else "some thresholds NOT met")
    return 0 if report.passed else 1


def _train(args: argparse.Namespace) -> int:
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from improv.agents.errors import ConfigError
    from improv.options import print_json
    from improv.organism.manifest import write_manifest
    from improv.organism.paths import MODEL_DIR
    from improv.organism.train import TrainConfig, default_out, train, writes_shipped_model

    if args.steps is not None and args.steps < 1:
        raise ConfigError("--steps: must be at least 1")
    if args.minutes is not None and args.minutes <= 0:
        raise ConfigError("--minutes: must be positive")
    if args.soft_weight <= 0:
        raise ConfigError("--soft-weight: must be positive")
    mix = _parse_mix(args.mix) if args.mix else None
    minutes = args.minutes if (args.minutes is not None or args.steps is not None) else 60.0
    if args.resume and not args.out:
        raise ConfigError("--resume needs --out: the folder of the training run to continue")
    if args.out and writes_shipped_model(args.out) and not args.overwrite_shipped:
        raise ConfigError(f"--out {args.out}: is the shipped model ({MODEL_DIR}); pass --overwrite-shipped to "
                          "replace its weights, or choose another --out")
    cfg = TrainConfig(out=args.out or default_out(), overwrite_shipped=args.overwrite_shipped, steps=args.steps, minutes=minutes, resume=args.resume,
                      seed=args.seed, batch_size=args.batch_size, threads=max(1, args.threads), corpus_mix=mix,
                      bf16=args.bf16, soft_weight=args.soft_weight, warmup=min(150, max(1, (args.steps or 10**6) // 10)))
    console = Console(stderr=True)
    if args.json or not console.is_terminal:
        last = [0.0]

        def cb(s):
            if not args.json and time.time() - last[0] > 10:
                last[0] = time.time()
                console.print(f"step {s.step}/{s.total or '?'} loss {s.loss:.4f} lr {s.lr:.2e} {s.elapsed:.0f}s",
                              markup=False, highlight=False)

        result = train(cfg, cb)
    else:
        with Progress(TextColumn("training"), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task("train", total=cfg.steps or (minutes * 60), info="")

            def cb(s):
                done = s.step if cfg.steps else s.elapsed
                progress.update(task, completed=done, info=f"step {s.step} loss {s.loss:.3f} lr {s.lr:.1e}")

            result = train(cfg, cb)
    if writes_shipped_model(cfg.out):  # the manifest describes the shipped model only
        write_manifest()
    if args.json:
        print_json(result)
    else:
        Console().print(f"saved {result.out}: {result.steps} steps, final loss {result.final_loss:.3f}, "
                        f"{result.elapsed:.0f} s, {result.parameters} parameters", markup=False, highlight=False)
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
