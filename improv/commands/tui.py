"""`improv tui` (also `improv` with no command): the terminal app."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", default=None, help="provider/model (default: $IMPROV_MODEL or the built-in model)")
    parser.add_argument("-p", "--persona", default=None, help="persona name or YAML/card file (improv personas list)")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="persona template variable")
    parser.add_argument("--out", default=None, help="transcript directory (default: $IMPROV_DATA_DIR or the user data dir)")
    parser.add_argument("--screen", default=None, metavar="KEY", help="open this screen at once (e.g. c for chat)")


def run(args: argparse.Namespace) -> int:
    from improv.agents.registry import parse_model_string
    from improv.options import parse_vars

    if args.model:
        parse_model_string(args.model)  # a bad model string: one line, exit 2, before the screen opens
    if args.persona:
        from improv.personas import get_persona  # type: ignore[attr-defined]

        get_persona(args.persona)
    from improv.tui.app import ImprovApp

    ImprovApp(args.model, args.persona, variables=parse_vars(args.var), out=args.out, start=args.screen).run()
    return 0
