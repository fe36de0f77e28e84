"""`improv twentyq play|resample|batch`: 20 Questions with the model as the answerer, and the
resampling that shows whether it ever committed to an object."""

from __future__ import annotations

import argparse
import asyncio
import sys

from improv.options import add_json_option, add_judge_option, add_model_options, add_save_options, build_judge, build_model, print_json, run_spec

#: the commitment protocols (improv.games.state.PROTOCOLS; repeated here so --help imports nothing)
PROTOCOL_CHOICES = ("uncommitted", "committed", "private", "sealed")


def _model_opts(p: argparse.ArgumentParser) -> None:
    add_model_options(p, persona=False, samples=False, settings=("temperature", "max_tokens"),
                      model_help="answerer provider/model", help={"temperature": "answerer temperature (default 1.0)"})
    add_judge_option(p, "model that decides fit for objects/questions outside the object table (one pair per call, temperature 0)")


def _game_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--objects", default=None, metavar="builtin|everyday|FILE",
                   help="candidate object table: builtin (the built-in model's 54 objects, default), everyday "
                        "(200+ everyday things, for real models) or a table YAML file")
    p.add_argument("--answer-format", default=None, metavar="TEXT",
                   help='appended to every question sent to the answerer (default: "Answer Yes or No.", none on the '
                        'built-in model, which was trained on bare questions; "" for none)')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="{play,resample,batch,probe}")

    p = sub.add_parser("play", help="play one game (the model answers)")
    _model_opts(p)
    p.add_argument("--condition", default=None, choices=PROTOCOL_CHOICES,
                   help="commitment protocol: uncommitted (no secret), committed (the tool's secret in the system "
                        "prompt), private (the answerer chooses and keeps its choice in a private memory), sealed "
                        "(the answerer chooses; a hash of its choice is stated and checked at the reveal); "
                        "default: committed with --secret, else uncommitted")
    p.add_argument("--secret", default=None, metavar="OBJECT|random",
                   help="committed condition: put this secret (or a random table object) in the system prompt")
    p.add_argument("--questioner", default="human", help="human | model:MODEL | script:FILE (default: human)")
    p.add_argument("--turns", type=int, default=20, help="maximum questions (default 20)")
    p.add_argument("-k", type=int, default=0, help="after the game, resample the reveal K times (default: no)")
    add_save_options(p, "the game's transcript")
    _game_opts(p)
    add_json_option(p)

    r = sub.add_parser("resample", help="resample a saved game's reveal at a turn; distribution and consistency")
    r.add_argument("transcript", help="a saved twentyq transcript: a path, or an id (or id prefix) in the store")
    _model_opts(r)
    r.add_argument("--at", type=int, default=None, help="node: after this many answered questions (default: all)")
    r.add_argument("-k", type=int, default=16, help="reveal samples, drawn in one n=K call (default 16)")
    r.add_argument("--exact", action="store_true", help="also the exact posterior over table objects (hf/, organism)")
    r.add_argument("--mass", action="store_true", help="also the mass test: sum of P(yes | 'Is it X?') over table objects")
    r.add_argument("--flip", type=int, default=None, metavar="Q", help="also resample the answer to question Q K times")
    r.add_argument("--save", action="store_true", help="write the resampled branches back into the transcript file")
    add_json_option(r)

    b = sub.add_parser("batch", help="N games per condition, resampled at every turn; JSON summary")
    _model_opts(b)
    b.add_argument("-n", "--games", type=int, default=20, help="games per condition (default 20)")
    src = b.add_mutually_exclusive_group()
    src.add_argument("--questions", default=None, metavar="FILE", help="the same scripted questions for every game")
    src.add_argument("--questioner", default=None, help="model:MODEL or script:FILE (default: random table questions per game)")
    b.add_argument("--turns", type=int, default=6, help="questions per game (default 6)")
    b.add_argument("-k", type=int, default=16, help="reveal samples per node (default 16)")
    b.add_argument("--exact", action="store_true", help="also the exact posterior entropy per node (hf/, organism)")
    b.add_argument("--mass", action="store_true",
                   help="also the mass test at each game's last turn: sum of P(yes | 'Is it X?') over the table objects")
    b.add_argument("--conditions", default="uncommitted,committed",
                   help=f"comma-separated commitment protocols among {', '.join(PROTOCOL_CHOICES)} "
                        "(default uncommitted,committed)")
    b.add_argument("--concurrency", type=int, default=4, help="games in flight (default 4)")
    b.add_argument("--seed", type=int, default=0, help="seed for secrets and question order")
    b.add_argument("--out", default=None, metavar="DIR", help="write transcripts/ and summary.json here")
    _game_opts(b)
    add_json_option(b)

    from improv.commands import twentyq_probe  # argparse only: light

    twentyq_probe.add_arguments(sub.add_parser(
        "probe", help="the secret probe: a linear probe and the logit lens on the answerer's hidden states"))


def _config(args):
    config = run_spec(args).config
    return config if config.model_fields_set else None


def _models(args, default: str | None = None):
    if args.model is None and default:
        args.model = default  # resample: the model the game was played with
    return build_model(args), build_judge(args)


def _answer_format(args) -> str | None:
    from improv.games.engine import AUTO

    if args.answer_format is None:
        return AUTO
    return args.answer_format.strip() or None


def _positive(name: str, value: int, minimum: int = 1) -> None:
    from improv.agents.errors import ConfigError

    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {value})")


def run(args: argparse.Namespace) -> int:
    if args.action == "probe":
        from improv.commands import twentyq_probe

        return twentyq_probe.run(args)
    return {"play": run_play, "resample": run_resample, "batch": run_batch}[args.action](args)


# -- rendering helpers ---------------------------------------------------------------------

def plot(console, draw, *args, height: int = 16, **kwargs) -> None:
    """Draw one of `improv.games.plots`' figures with plotext and print it (colours only on a
    terminal; plain characters in a pipe)."""
    import plotext as plt

    width = min(console.width, 110)
    if not draw(plt, *args, width=width, **kwargs):  # the figure starts from a cleared one
        return
    plt.limitsize(False, False)  # the console's width, not plotext's guess of the terminal's
    plt.plotsize(width, height)
    text = plt.build()
    if not console.is_terminal:
        text = plt.uncolorize(text)
    sys.stdout.write(text.rstrip() + "\n")


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _dist_table(title: str, counts: dict[str, int], k: int, fits=None, posterior=None):
    from rich.table import Table
    from rich.text import Text

    from improv.agents.text import printable

    table = Table(title=title, title_justify="left")
    table.add_column("object")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("", no_wrap=True)
    if fits is not None:
        table.add_column("fits answers")
    if posterior is not None:
        table.add_column("exact P", justify="right")
    for obj, c in counts.items():
        share = c / k if k else 0.0
        row = [Text(printable(obj)), str(c), f"{share:.2f}", "█" * max(1, round(share * 20))]
        if fits is not None:
            f = fits.get(obj)
            if f is not None and f.nothing_to_check:
                row.append("nothing to check")
            elif f is None or f.consistent is None:
                row.append("undecided")
            elif f.consistent:
                row.append("yes")
            else:
                row.append(f"no (Q{f.first_contradiction})")
        if posterior is not None:
            row.append(f"{posterior.probabilities.get(obj, 0.0):.3f}")
        table.add_row(*row)
    return table


# -- play ----------------------------------------------------------------------------------

def make_questioner(spec: str, args, human=None):
    """``human`` | ``model:MODEL`` | ``script:FILE``: the model string is parsed here, at the edge."""
    from pathlib import Path

    from improv.agents.errors import ConfigError
    from improv.games.engine import CallbackQuestioner, ModelQuestioner, ScriptQuestioner, load_script

    kind, _, arg = spec.partition(":")
    if kind == "human":
        if human is None:
            raise ConfigError("--questioner human needs an interactive front end (not batch)")
        return CallbackQuestioner(human)
    if kind == "model" and arg:
        return ModelQuestioner(build_model(args, arg, setting="questioner"))
    if kind == "script" and arg:
        return ScriptQuestioner(load_script(arg), name=f"script:{Path(arg).name}")
    raise ConfigError(f"--questioner {spec!r}: expected human, model:MODEL or script:FILE")


def _condition(args) -> str:
    from improv.agents.errors import ConfigError

    condition = args.condition or ("committed" if args.secret else "uncommitted")
    if condition == "committed" and not args.secret:
        args.secret = "random"
    if condition != "committed" and args.secret:
        raise ConfigError(f"--secret: the {condition} condition takes no secret (the answerer chooses, or holds none)")
    return condition


def run_play(args) -> int:
    from improv.agents.text import printable
    from improv.games.engine import pick_secret
    from improv.games.game import Game
    from improv.games.table import load_table

    _positive("--turns", args.turns)
    condition = _condition(args)
    table = load_table(args.objects)
    secret = pick_secret(args.secret, table)
    model, judge = _models(args)
    console = _console()
    interactive = args.questioner == "human"

    def human(history):
        n = len(history) + 1
        try:
            line = input(f"Q{n}> " if sys.stdin.isatty() else "")
        except EOFError:
            return None
        return None if line.strip().lower() in ("", "quit", "give up", "q") else line

    questioner = make_questioner(args.questioner, args, human=human)

    def on_event(ev):
        if args.json:
            return
        if ev.kind == "seal":
            console.print(f"The answerer states its sealed choice: {printable(ev.text)}", markup=False)
        elif ev.kind == "question" and not interactive:
            console.print(f"Q{ev.number}: {printable(ev.text)}", markup=False)
        elif ev.kind == "answer":
            console.print(f"  A{ev.number}: {printable(ev.text)}  [{ev.label}]", markup=False)
        elif ev.kind == "reveal":
            console.print(f"Reveal: {printable(ev.text)}  -> {printable(ev.label or '')}", markup=False)

    if interactive and not args.json:
        console.print("Ask yes/no questions; an empty line gives up and asks for the reveal.", markup=False)
    game = Game.new(model, condition=condition, secret=secret, table=table, config=_config(args),
                    answer_format=_answer_format(args), questioner=questioner.name)
    if judge is not None:
        from improv.games.fit import FitChecker

        game.use_judge(FitChecker(table, judge, game.labels))

    async def go():
        try:
            await game.play(questioner, turns=args.turns, on_event=on_event)
            return await game.analyse(k=args.k) if args.k else None
        finally:
            await model.aclose()
            if judge is not None:
                await judge.aclose()

    node = asyncio.run(go())
    path = None if args.no_save else game.save(args.out)
    if args.json:
        print_json({"transcript": game.transcript.model_dump(mode="json"),
                    "analysis": node.model_dump(mode="json") if node else None, "path": str(path) if path else None})
        return 0
    if game.record.seal is not None:
        opened = game.transcript.turn(game.record.main_leaf).meta.get("seal_matches")
        console.print(f"seal check: the reveal {'opens' if opened else 'does not open'} the seal "
                      f"(the answerer's private choice: {game.secret or 'none named'})", markup=False)
    elif game.condition == "private":
        console.print(f"private memory (never shown to the questioner): {printable(game.record.memory[0].text)}",
                      markup=False)
    if node is not None:
        _print_node(console, node)
    if path:
        console.print(f"saved {path}", markup=False)
    return 0


def _entropy_text(d) -> str:
    if d.entropy_bits is None:
        return "entropy n/a (no reveal named an object)"
    lo, hi = d.entropy_ci
    return (f"entropy {d.entropy_bits:.2f} bits over {d.objects} object reveals (95% bias-corrected bootstrap "
            f"interval {lo:.2f}-{hi:.2f}), effective number {d.effective_number:.2f}, distinct {d.distinct}, "
            f"top-1 mass {d.top_mass:.2f}")


def _print_node(console, node) -> None:
    d = node.sample.distribution
    console.print(_dist_table(f"reveals after {node.at} answers (K={d.k})", d.counts, d.objects, node.fits, node.posterior))
    c = node.consistency
    share = "n/a" if c.share is None else f"{c.share:.2f} [{c.share_ci[0]:.2f}-{c.share_ci[1]:.2f}]"
    reasons = ", ".join(f"{r} {n}" for r, n in d.non_reveal_reasons.items())
    in_table = f"{d.in_table}/{d.objects}" if d.objects else "n/a (0 object reveals)"
    console.print(
        f"{_entropy_text(d)}; non-reveals {d.non_reveals}/{d.k}{' (' + reasons + ')' if reasons else ''}; "
        f"inside the object table {in_table}; "
        f"fit every earlier answer: {share} of {c.checked} checkable ({c.consistent} fit, {c.contradicted} contradicted, "
        f"{c.undecided} undecided, {c.nothing_to_check} with nothing to check); "
        f"table objects still possible: {len(node.remaining)}",
        markup=False,
    )
    if node.secret is not None:
        named = "n/a" if node.secret_share is None else f"{node.secret_share:.2f}"
        console.print(f"secret {node.secret}: share of object reveals naming it {named} (n={d.objects})", markup=False)
    if node.posterior is not None:
        p = node.posterior
        extra = f", mass on the secret {p.probabilities.get(node.secret, 0.0):.3f}" if node.secret else ""
        console.print(f"exact posterior: entropy {p.entropy_bits:.2f} bits, top {p.top} ({p.top_mass:.2f}){extra}", markup=False)


def mass_text(mass, k_label: str | None = None) -> str:
    """One paragraph for a mass test: Σ, the spread beside it, and the flags."""
    top = sorted(mass.per_candidate.items(), key=lambda kv: -kv[1])[:8]
    n = len(mass.per_candidate)
    parts = [f"mass test ({mass.source}, k={mass.k}): sum of P(yes) over {n} objects = {mass.total:.2f} "
             "(a committed answerer sums to about 1 with the mass on one object)"]
    if mass.top is not None:
        ratio = "n/a" if mass.normalised_entropy_ratio is None else f"{mass.normalised_entropy_ratio:.2f}"
        ent = "n/a" if mass.normalised_entropy_bits is None else f"{mass.normalised_entropy_bits:.2f}"
        parts.append(f"top candidate {mass.top} P(yes) {mass.top_p_yes:.2f}; entropy of the normalised P(yes) {ent} bits "
                     f"({ratio} of the {n}-object maximum)")
    if mass.no_to_everything:
        parts.append("FLAG: no candidate gets P(yes) >= 0.5 (the answerer says no to everything): the sum says nothing about commitment")
    if mass.yes_to_everything:
        parts.append("FLAG: every candidate gets P(yes) >= 0.5 (the answerer says yes to everything)")
    if mass.p_other_mean is not None:
        parts.append(f"mean first-token mass off yes/no {mass.p_other_mean:.2f}")
    parts.append("highest: " + ", ".join(f"{o} {p:.2f}" for o, p in top))
    return "; ".join(parts)


# -- resample ------------------------------------------------------------------------------

def run_resample(args) -> int:
    from improv.agents.errors import ConfigError
    from improv.games.fit import FitChecker
    from improv.games.game import Game
    from improv.games.state import GameRecord
    from improv.transcripts.store import load, resolve

    _positive("-k", args.k)
    path = resolve(args.transcript)
    transcript = load(path)
    answered = len(Game.open(transcript, None).exchanges)  # a 20 Questions game, or one line and exit 2
    if args.at is not None and not 0 <= args.at <= answered:
        raise ConfigError(f"--at {args.at}: the game has {answered} answered questions (use 0..{answered})")
    if args.flip is not None and not 1 <= args.flip <= answered:
        raise ConfigError(f"--flip {args.flip}: the game has questions 1..{answered}")
    model, judge = _models(args, GameRecord.read(transcript.meta).model)
    game = Game.open(transcript, model, config=_config(args))
    if judge is not None:
        game.use_judge(FitChecker(game.table, judge, game.labels))

    async def go():
        try:
            node = await game.analyse(args.at, k=args.k, exact=args.exact)
            curve = await game.posterior_curve() if args.exact else None
            mass = await game.mass_test(node.at, k=min(args.k, 8)) if args.mass else None
            flip = await game.flips(args.flip, k=args.k) if args.flip else None
            return node, curve, mass, flip
        finally:
            await model.aclose()
            if judge is not None:
                await judge.aclose()

    node, curve, mass, flip = asyncio.run(go())
    if args.save:
        game.save(path=path)
    if args.json:
        print_json({
            "analysis": node.model_dump(mode="json"),
            "posterior_curve": curve.model_dump(mode="json") if curve else None,
            "mass_test": mass.model_dump(mode="json") if mass else None,
            "flips": flip.model_dump(mode="json") if flip else None,
        })
        return 0
    console = _console()
    _print_node(console, node)
    if curve is not None:
        from rich.table import Table

        from improv.agents.text import printable

        t = Table(title="exact posterior by turn", title_justify="left")
        for col in ("turn", "question", "entropy (bits)", "information gained (bits)", "top"):
            t.add_column(col)
        for i, post in enumerate(curve.posteriors):
            q = printable(curve.questions[i - 1]) if i else "(start)"
            gain = f"{curve.information_gain[i - 1]:+.2f}" if i else ""
            t.add_row(str(i), q, f"{post.entropy_bits:.2f}", gain, f"{post.top} ({post.top_mass:.2f})")
        console.print(t)
        from improv.games.plots import commitment_curve, posterior_vs_reveals, setting_label

        setting = setting_label(model.name, game.condition, args.k, game.table.name)
        plot(console, posterior_vs_reveals, node, node.posterior, at=node.at, setting=setting)
        plot(console, commitment_curve, {game.condition: game.entropy_by_turn()},
             exact={game.condition: game.exact_entropy_by_turn()}, setting=setting)
    if mass is not None:
        console.print(mass_text(mass), markup=False)
    if flip is not None:
        rate = "n/a" if flip.flip_rate is None else f"{flip.flip_rate:.2f}"
        counts = ", ".join(f"{label} {n}" for label, n in flip.counts.items())
        console.print(f"answer flips at Q{args.flip} (K={flip.k}): original {flip.original}, flip rate {rate}, "
                      f"labels {counts}" + (f", mean P(yes) {flip.p_yes_logprobs:.2f}" if flip.p_yes_logprobs is not None else ""),
                      markup=False)
    return 0


# -- batch ---------------------------------------------------------------------------------

def run_batch(args) -> int:
    from improv.agents.errors import ConfigError
    from improv.games.batch import run_batch as batch, save_batch
    from improv.games.engine import load_script

    _positive("--games", args.games)
    _positive("--turns", args.turns)
    _positive("-k", args.k)
    _positive("--concurrency", args.concurrency)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    bad = [c for c in conditions if c not in PROTOCOL_CHOICES]
    if bad or not conditions:
        raise ConfigError(f"--conditions {args.conditions!r}: expected a comma-separated list of {', '.join(PROTOCOL_CHOICES)}")
    questions = load_script(args.questions) if args.questions else None
    factory = None
    if args.questioner:
        if args.questioner == "human":
            raise ConfigError("--questioner human cannot run in batch; use model:MODEL or script:FILE")
        make_questioner(args.questioner, args)  # validate now
        factory = lambda: make_questioner(args.questioner, args)  # noqa: E731
    from improv.games.table import load_table

    table = load_table(args.objects)
    model, judge = _models(args)
    console = _console()
    if not console.is_terminal:  # every cell carries an interval and n: do not fold the table to 80 columns
        console.width = max(console.width, 170)

    async def go(progress):
        try:
            return await batch(model, games=args.games, turns=args.turns, k=args.k, questions=questions,
                               questioner_factory=factory, conditions=conditions, judge=judge, config=_config(args),
                               exact=args.exact, concurrency=args.concurrency, seed=args.seed, progress=progress,
                               table=table, answer_format=_answer_format(args), mass=args.mass)
        finally:
            await model.aclose()
            if judge is not None:
                await judge.aclose()

    if args.json or not sys.stderr.isatty():
        result = asyncio.run(go(None))
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("games"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=_stderr_console(), transient=True) as bar:
            task = bar.add_task("games", total=args.games * len(conditions))

            def progress(done, total, _desc):
                bar.update(task, completed=done, total=total)

            result = asyncio.run(go(progress))
    path = save_batch(result, args.out) if args.out else None
    if args.json:
        data = result.summary.model_dump(mode="json")
        data["summary_path"] = str(path) if path else None
        print_json(data)
        return 0
    _print_summary(console, result.summary)
    if path:
        console.print(f"wrote {path} and {len(result.transcripts)} transcripts", markup=False)
    return 0


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _print_summary(console, summary) -> None:
    from rich.table import Table

    how = ("drawn from the model's first-token P(yes)/P(no)" if summary.answers == "logprobs"
           else "parsed from the text")
    console.print(f"model {summary.model}: answers {how}; objects: {summary.objects} ({summary.candidates}); "
                  f"answer format: {summary.answer_format or '(none)'}; K={summary.k} reveals per node; "
                  "shares are value [95% Wilson interval] n=count; entropies mean [95% bootstrap interval] n=games",
                  markup=False)
    for note in summary.notes:
        console.print(f"note: {note}", markup=False)
    for cond in summary.conditions.values():
        holds = cond.secret is not None  # committed, private, sealed: the answerer holds an object
        t = Table(title=f"{cond.condition}: {cond.games} games", title_justify="left")
        cols = ["turn", "invalid answers", "non-reveals", "in the table", "reveal entropy (bits)", "distinct",
                "objects possible", "fit all answers"]
        if holds:
            cols.append("name the secret" if cond.condition == "committed" else "name its own choice")
        if cond.seal is not None:
            cols.append("open the seal")
        if summary.exact:
            cols += ["exact H", "exact top mass"]
            if holds:
                cols.append("exact mass on secret" if cond.condition == "committed" else "exact mass on its choice")
        for c in cols:
            t.add_column(c, justify="right")
        for row in cond.turns:
            cells = [str(row.at), row.invalid.text() if row.invalid else "", row.non_reveals.text(), row.in_table.text(),
                     row.entropy.text(), f"{row.distinct_mean:.1f}", f"{row.remaining_mean:.1f}", row.consistency.text()]
            if holds:
                cells.append(row.secret.text() if row.secret else "n/a")
            if cond.seal is not None:
                cells.append(row.seal.text() if row.seal else "n/a")
            if summary.exact:
                cells.append(row.posterior_entropy.text() if row.posterior_entropy else "n/a")
                cells.append(row.posterior_top_mass.text() if row.posterior_top_mass else "n/a")
                if holds:
                    cells.append(row.posterior_secret_mass.text() if row.posterior_secret_mass else "n/a")
            t.add_row(*cells)
        console.print(t)
        line = (f"  all turns: invalid answers {cond.invalid.text()}; non-reveals {cond.non_reveals.text()}; "
                f"in the table {cond.in_table.text()}; fit all answers {cond.consistency.text()}")
        if cond.chose is not None:
            line += f"; games whose answerer named an object when it chose {cond.chose.text()}"
        if cond.secret is not None:
            line += f"; name the held object {cond.secret.text()}"
        if cond.seal is not None:
            line += f"; open the seal {cond.seal.text()}"
        if cond.answers_fit_secret is not None:
            line += f"; answers agree with the held object {cond.answers_fit_secret.text()}"
        if cond.mass_total is not None:
            line += (f"; mass test at the last turn: sum of P(yes) {cond.mass_total.text()}, top P(yes) "
                     f"{cond.mass_top_p_yes.text()}, no candidate at P(yes) >= 0.5 in {cond.mass_no_to_everything.text()}")
            if cond.mass_top_is_held is not None:
                line += f", top candidate is the held object {cond.mass_top_is_held.text()}"
        console.print(line, markup=False)
    from improv.games.plots import commitment_curve, summary_curves

    reveals, exact = summary_curves({c.condition: c.turns for c in summary.conditions.values()})
    plot(console, commitment_curve, reveals, exact=exact,
         setting=f"{summary.model} · mean over {summary.games_per_condition} games · K={summary.k} · {summary.objects} table")
    for cond in summary.conditions.values():
        ents = " ".join("n/a" if r.entropy.value is None else f"{r.entropy.value:.2f}" for r in cond.turns)
        console.print(f"commitment curve, {cond.condition}: reveal entropy by turn (bits) {ents}", markup=False)
