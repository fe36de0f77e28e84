"""Command dispatch. Each command lives in its own module under `improv.commands`, imported
only when it runs, so `improv --help` never loads an SDK or torch.

A command module offers ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "ask": ("improv.commands.ask", "one turn: send a prompt, print each sample"),
    "chat": ("improv.commands.chat", "plain line-by-line chat in the terminal"),
    "models": ("improv.commands.models", "providers, which are configured, their capabilities"),
    "personas": ("improv.commands.personas", "list, show or import personas (YAML, character cards)"),
    "transcripts": ("improv.commands.transcripts", "list, show or export saved transcripts"),
    "twentyq": ("improv.commands.twentyq", "20 Questions: play, resample, batch, probe"),
    "classify": ("improv.commands.classify", "classify a false statement: confabulation, good faith, deception"),
    "introspect": ("improv.commands.introspect", "introspection quiz: hypothetical self-prediction"),
    "replay": ("improv.commands.replay", "replay transcripts in batch against other models or personas"),
    "organism": ("improv.commands.organism", "the built-in model: info, check, train"),
    "tui": ("improv.commands.tui", "launch the terminal app (the default with no command)"),
}


def overview() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [
        "usage: improv [COMMAND] [OPTIONS]",
        "",
        "A terminal workbench for studying how LLM dialogue agents role-play.",
        "With no command, improv opens the terminal app.",
        "",
        "commands:",
        *(f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()),
        "",
        "Run `improv COMMAND --help` for a command's options.",
        "Models are provider/model strings (improv models); the default is the built-in model.",
    ]
    return "\n".join(lines)


def build_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"improv {name}", description=help_)
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser, module


def error_line(err: BaseException) -> str:
    """The first line of an error, control characters escaped (it may quote a file's text)."""
    from improv.agents.text import first_line

    return first_line(err)


def dispatch(argv: list[str]) -> int:
    if not argv:
        argv = ["tui"]
    if argv[0] in ("-h", "--help", "help"):
        print(overview())
        return 0
    if argv[0] == "--version":
        print("improv 0.1.0")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"improv: error: unknown command {name!r}; run `improv --help`", file=sys.stderr)
        return 2
    parser, module = build_parser(name)
    args = parser.parse_args(argv[1:])
    return int(module.run(args) or 0)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    from improv.agents.errors import ImprovError, ProviderError, SettingError
    from improv.personas.errors import PersonaError

    argv = sys.argv[1:] if argv is None else argv
    try:
        return dispatch(argv)
    except SettingError as err:  # named by the library's setting; worded here with the flag
        from improv.options import cli_error

        print(f"improv: error: {error_line(cli_error(err))}", file=sys.stderr)
        return 2
    except (ImprovError, PersonaError) as err:
        from improv.options import cli_hint

        print(f"improv: error: {error_line(err)}{cli_hint(err)}", file=sys.stderr)
        return 2
    except ProviderError as err:
        print(f"improv: error: {error_line(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("improv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as err:  # a bug: one line, the traceback only on request
        if os.environ.get("IMPROV_DEBUG"):
            raise
        print(f"improv: internal error: {type(err).__name__}: {error_line(err)} (IMPROV_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
