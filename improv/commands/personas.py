"""`improv personas list|show|import`."""

from __future__ import annotations

import argparse
import sys

from improv.options import add_json_option, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("list", help="built-in and imported personas")
    add_json_option(p)
    p = sub.add_parser("show", help="one persona: fields and rendered system prompt")
    p.add_argument("persona", help="name or file (YAML, card JSON or PNG)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="template variable for the rendered system prompt (repeatable)")
    add_json_option(p)
    p = sub.add_parser("import", help="import a YAML persona or a character card (V1/V2/V3, JSON or PNG)")
    p.add_argument("file", help="YAML persona, or character card as JSON or PNG")
    p.add_argument("--force", action="store_true", help="replace an imported persona of the same name")
    add_json_option(p)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from improv.agents.agent import persona_config
    from improv.agents.text import counts, one_line, printable
    from improv.personas import builtin_personas, get_persona, import_persona
    from improv.personas.library import user_personas

    console = Console()

    def say(text: str, style: str | None = None) -> None:
        # soft_wrap: the terminal wraps; Rich's own wrapping is quadratic in a long field
        console.print(Text(printable(text), style=style or ""), soft_wrap=True)

    if args.action == "list":
        problems: list[str] = []
        imported = user_personas(problems)
        for line in problems:  # the list goes on without them
            print(f"improv: skipped {one_line(line)}", file=sys.stderr)
        personas = {**builtin_personas(), **imported}
        source = {n: "imported" if n in imported else "built-in" for n in personas}
        if args.json:
            print_json([{"name": p.name, "description": p.description, "tags": p.tags, "source": source[n]}
                        for n, p in personas.items()])
            return 0
        table = Table("name", "source", "description", "tags")
        for name, p in personas.items():
            table.add_row(Text(one_line(name)), source[name], Text(one_line(p.description)),
                          Text(one_line(", ".join(p.tags))))
        console.print(table)
        return 0
    if args.action == "show":
        from improv.options import parse_vars

        persona = get_persona(args.persona)
        persona_config(persona)  # a bad generation default fails here, not at the first reply
        values = parse_vars(args.var)
        missing = [v for v in persona.template_variables() if v not in {**persona.variables, **values}]
        rendered = None if missing else persona.render(**values)
        if args.json:
            print_json({"persona": persona.model_dump(mode="json"), "rendered_system_prompt": rendered})
            return 0
        say(f"{one_line(persona.name)}: {one_line(persona.description)}", "bold")
        if persona.tags:
            say("tags: " + one_line(", ".join(persona.tags)))
        say("\nsystem prompt:", "bold")
        say(rendered if rendered is not None else persona.system_prompt)
        if missing:
            say(f"(template variables without a value: {', '.join(missing)}; pass --var NAME=VALUE)")
        if persona.greeting:
            say("\ngreeting:", "bold")
            say(persona.greeting)
        if persona.post_history_instructions:
            say("\npost-history instructions:", "bold")
            say(persona.post_history_instructions)
        if persona.generation:
            say(f"\ngeneration defaults: {counts(persona_config(persona).model_dump(exclude_unset=True))}")
        return 0
    from improv.agents.errors import ConfigError
    from improv.personas import load_persona

    try:  # check before anything is written: a persona that imports must also run
        persona_config(load_persona(args.file))
    except ConfigError as err:
        raise ConfigError(f"{args.file}: {err}") from None
    persona, path = import_persona(args.file, overwrite=args.force)
    if args.json:
        print_json({"name": persona.name, "path": str(path)})
    else:
        say(f"imported persona {one_line(persona.name)!r} to {path}")
    return 0
