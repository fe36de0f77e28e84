"""`improv tui` (also `improv` with no command): the terminal app."""

from __future__ import annotations

import argparse


from improv.options import add_model_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, settings=(), model_help="provider/model the screens start with")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder the screens save transcripts in (default: $IMPROV_DATA_DIR/transcripts, else "
                             "the user data dir's transcripts folder)")
    parser.add_argument("--screen", default=None, metavar="KEY", help="open this screen at once (e.g. c for chat)")


def run(args: argparse.Namespace) -> int:
    from improv.agents.spec import load_persona
    from improv.options import run_spec

    spec = run_spec(args)  # a bad model string or variable: one line, exit 2, before the screen opens
    load_persona(spec)
    from improv.tui.app import ImprovApp

    ImprovApp(args.model, spec.persona, variables=spec.variables, out=args.out, start=args.screen,
              chat_template=args.chat_template, cache=args.cache, max_connections=args.max_connections).run()
    return 0
