"""`improv models`: the providers, whether each is configured, and what each can do;
`improv models export SOURCE --out DIR`: a model folder from a GGUF file (or any hf/ source)."""

from __future__ import annotations

import argparse

from improv.options import add_json_option, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_json_option(parser)
    sub = parser.add_subparsers(dest="action", metavar="{export}")
    export = sub.add_parser("export", help="write a model folder (safetensors + tokenizer) from a .gguf file, "
                                           "a folder or a hub id, for servers such as vLLM")
    export.add_argument("source", help="a .gguf file, a model folder or a hub id (what follows hf/ in a model string)")
    export.add_argument("--out", required=True, help="the new folder to write (must not exist)")
    export.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                        help="weight type written (default float32, what hf/ computes in)")
    add_json_option(export)


def providers() -> list[dict]:
    from improv.agents.registry import PROVIDERS

    return [
        {
            "provider": p.name,
            "example": p.example,
            "description": p.description,
            "configured": p.configured(),
            "needs": list(p.env),
            "capabilities": p.capability_names(),
        }
        for p in PROVIDERS.values()
    ]


def export(args: argparse.Namespace) -> int:
    from improv.agents.providers.hf_export import export_model_folder

    path = export_model_folder(args.source, args.out, dtype=args.dtype)
    if args.json:
        print_json({"source": args.source, "out": str(path), "dtype": args.dtype})
    else:
        print(f"wrote {path} (load it with -m hf/{path}, or serve the folder)")
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "export":
        return export(args)
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
