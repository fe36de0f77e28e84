"""`improv twentyq probe`: the secret probe (`games.probe`): play committed and uncommitted games on an
in-process model, train a linear probe on the answerer's hidden states to read the committed
secret, ask it for the uncommitted games' later reveal beside the answers-only baseline, and read
the logit lens. A model without hidden states is one line, exit 2."""

from __future__ import annotations

import argparse
import asyncio
import sys

from improv.options import add_json_option, add_model_options, build_model, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    add_model_options(p, persona=False, samples=False, settings=("temperature", "max_tokens"),
                      model_help="an in-process model: organism or hf/<dir|file.gguf>",
                      defaults={"temperature": 1.0, "max_tokens": 16},
                      help={"temperature": "answerer temperature (default 1.0)",
                            "max_tokens": "most tokens per answer or reveal (default 16; the answer is read from its "
                                          "first token's distribution, a reveal is a short sentence)"})
    p.add_argument("--objects", default=None, metavar="builtin|everyday|FILE", help="candidate object table (default builtin)")
    p.add_argument("--candidates", type=int, default=None, metavar="N",
                   help="secrets from N table objects (seeded; default: every object); chance is 1/N")
    p.add_argument("--train", type=int, default=108, help="committed games to train on (default 108)")
    p.add_argument("--val", type=int, default=27, help="committed games that choose the layer (default 27)")
    p.add_argument("--test", type=int, default=54, help="held-out committed games (default 54)")
    p.add_argument("--uncommitted", type=int, default=54, help="uncommitted games whose later reveal is predicted (default 54)")
    p.add_argument("--turns", type=int, default=6, help="questions per game (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed for the pool, secrets and question order (default 0)")
    p.add_argument("--concurrency", type=int, default=4, help="games in flight (default 4)")
    p.add_argument("--no-lens", action="store_true", help="skip the logit lens")
    p.add_argument("--reveal", choices=("sampled", "exact"), default="sampled",
                   help="uncommitted target: the object the sampled reveal names (default), or the exact posterior's "
                        "top candidate at the end (for models whose reveals rarely name an object)")
    p.add_argument("--out", default=None, metavar="FILE", help="also write the report (JSON, games included) here, to FILE")
    add_json_option(p)


def settings_from(args):
    from pydantic import ValidationError

    from improv.agents.errors import ConfigError
    from improv.games.probe import ProbeSettings

    fields = {"candidates": args.candidates, "train": args.train, "val": args.val, "test": args.test,
              "uncommitted": args.uncommitted, "turns": args.turns, "seed": args.seed, "concurrency": args.concurrency,
              "temperature": args.temperature, "max_tokens": args.max_tokens, "lens": not args.no_lens,
              "reveal": args.reveal}
    try:
        return ProbeSettings(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).replace("_", "-")
        raise ConfigError(f"--{name}: {first['msg']} (got {first.get('input')!r})") from None


def run(args: argparse.Namespace) -> int:
    from improv.agents.errors import CapabilityError
    from improv.games.probe import run_probe
    from improv.games.table import load_table

    settings = settings_from(args)
    table = load_table(args.objects)
    model = build_model(args)
    if not model.capabilities.hidden_states:  # before any game is played
        raise CapabilityError(f"{model.name}: the secret probe needs hidden states, which only in-process models "
                              "expose (-m organism or hf/...)")

    async def go(progress):
        try:
            return await run_probe(model, settings, table=table, progress=progress)
        finally:
            await model.aclose()

    if args.json or not sys.stderr.isatty():
        report = asyncio.run(go(None))
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("games"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("games", total=None)
            report = asyncio.run(go(lambda done, total, _: bar.update(task, completed=done, total=total)))
    if args.out:
        from improv.options import write_output

        write_output(args.out, report.model_dump_json(indent=1), "--out")
    if args.json:
        print_json(report)
        return 0
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # cells carry intervals and n: do not fold to 80 columns
        console.width = max(console.width, 170)
    render(console, report)
    return 0


# -- rendering ------------------------------------------------------------------------------

def _turn_name(row, last: int) -> str:
    return "reveal" if row.turn == last else f"Q{row.turn}"


def render(console, report) -> None:
    from rich.table import Table

    s = report.settings
    console.print(
        f"secret probe on {report.model}: {len(report.candidates)} candidate objects ({report.objects} table), "
        f"chance {report.chance:.3f}; games: {s.train} train, {s.val} validation, {s.test} test committed, "
        f"{s.uncommitted} uncommitted; {s.turns} questions each (answerer turns Q1..Q{s.turns} and the reveal prompt); "
        f"temperature {s.temperature}, max tokens {s.max_tokens}, seed {s.seed}; hidden states: {report.rows} rows "
        f"(0 = embeddings) x {report.hidden}", markup=False)
    console.print(f"layer chosen on validation: {report.layer} (L2 {report.l2:g}); shares are value [95% Wilson interval] "
                  "n=count; means are value [95% bootstrap interval] n=games", markup=False)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    t = Table(title="committed: probe accuracy by layer (all turns pooled)", title_justify="left")
    for c in ("layer", "L2", "validation (chooses)", "test"):
        t.add_column(c, justify="right")
    for row in report.layers:
        mark = " *" if row.layer == report.layer else ""
        t.add_row(f"{row.layer}{mark}", f"{row.l2:g}", row.val.text(), row.test.text())
    console.print(t)
    for section in (report.committed, report.uncommitted):
        if section is None:
            continue
        _section(console, report, section)


def _section(console, report, section) -> None:
    from rich.table import Table

    last = len(section.turns)
    excluded = ", ".join(f"{k} {v}" for k, v in section.excluded.items())
    title = (f"{section.condition}: predicting the {section.target} from the state at each turn, layer {report.layer}, "
             f"{section.games} games" + (f" ({excluded} excluded)" if excluded else ""))
    t = Table(title=title, title_justify="left")
    cols = ["turn", "answers before", "probe top-1", "probe with answers top-1", f"answers only P({section.target})",
            f"probe with answers P({section.target})", "gain over answers only", "still possible"]
    if report.lens is not None:
        cols.append(f"lens top-1 (row {report.lens.layer})")
    for c in cols:
        t.add_column(c, justify="right")
    for row in section.turns:
        cells = [_turn_name(row, last), str(row.answers_before), row.probe.text(), row.probe_with_answers.text(),
                 row.answers_only.text(), row.probe_p.text(), row.gain.text(), f"{row.possible_mean:.1f}"]
        if report.lens is not None:
            cells.append(row.lens.text() if row.lens else "n/a")
        t.add_row(*cells)
    console.print(t)
    maj = section.majority_object or "n/a"
    console.print(f"  all turns pooled: probe {section.pooled.text()}; chance {report.chance:.3f}; majority object "
                  f"({maj}) {section.majority.text()}"
                  + (f"; answers ruled out every candidate in {section.fallback_uniform} readouts (uniform over all there)"
                     if section.fallback_uniform else ""), markup=False)
    for name, cells in (("probe", section.by_layer), ("logit lens", section.lens_by_layer)):
        if not cells:
            continue
        g = Table(title=f"{section.condition}: {name} top-1 accuracy by layer (rows) and turn (columns), "
                        f"n={section.games} each", title_justify="left")
        g.add_column("layer", justify="right")
        for i in range(1, last + 1):
            g.add_column("reveal" if i == last else f"Q{i}", justify="right")
        layers = sorted({c.layer for c in cells})
        for layer in layers:
            row = [c for c in cells if c.layer == layer]
            g.add_row(str(layer), *(_cell(c.share) for c in sorted(row, key=lambda c: c.turn)))
        console.print(g)


def _cell(share) -> str:
    if share.value is None:
        return "n/a"
    return f"{share.value:.2f} [{share.ci[0]:.2f}-{share.ci[1]:.2f}]"
