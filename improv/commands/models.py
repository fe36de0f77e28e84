"""`improv models`: the providers, whether each is configured, and what each can do."""

from __future__ import annotations

import argparse

from improv.options import add_json_option, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_json_option(parser)


def providers() -> list[dict]:
    from agents.registry import PROVIDERS

    return [
        {
            "provider": p.name,
            "example": p.example,
            "description": p.description,
            "configured": p.configured(),
            "needs": list(p.env),
            "capabilities": list(p.capabilities),
        }
        for p in PROVIDERS.values()
    ]


def run(args: argparse.Namespace) -> int:
    rows = providers()
    if args.json:
        print_json(rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("provider", "example", "configured", "capabilities", "description")
    for r in rows:
        configured = "yes" if r["configured"] else f"no (set {', '.join(r['needs'])})"
        table.add_row(r["provider"], r["example"], configured, ", ".join(r["capabilities"]) or "-", r["description"])
    Console().print(table)
    return 0
