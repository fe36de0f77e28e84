"""Options shared by commands: model, persona, generation settings, output format."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_model_options(parser: argparse.ArgumentParser, *, persona: bool = True, samples: bool = True) -> None:
    g = parser.add_argument_group("model")
    g.add_argument("-m", "--model", default=None, help="provider/model (default: $IMPROV_MODEL or the built-in model)")
    if persona:
        g.add_argument("-p", "--persona", default=None, help="persona name or YAML/card file (improv personas list)")
        g.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="persona template variable")
    g.add_argument("-t", "--temperature", type=float, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--max-tokens", type=int, default=None)
    g.add_argument("--seed", type=int, default=None)
    if samples:
        g.add_argument("-n", type=int, default=1, help="number of samples")
    g.add_argument("--logprobs", action="store_true", help="ask for token logprobs")
    g.add_argument("--chat-template", default=None, metavar="FILE",
                   help="Jinja chat template for an hf/ model without one (default: $IMPROV_CHAT_TEMPLATE)")
    g.add_argument("--cache", action="store_true", help="use the on-disk response cache")
    g.add_argument("--max-connections", type=int, default=16, help="concurrent requests per endpoint")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def parse_vars(pairs: list[str]) -> dict[str, str]:
    from improv.agents.errors import ConfigError

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--var {pair!r}: expected NAME=VALUE")
        out[name] = value
    return out


def generate_config(args: argparse.Namespace):
    from pydantic import ValidationError

    from improv.agents.errors import ConfigError
    from improv.agents.types import GenerateConfig

    fields: dict[str, Any] = {}
    for name in ("temperature", "top_p", "max_tokens", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    if getattr(args, "n", 1) != 1:
        fields["n"] = args.n
    if getattr(args, "logprobs", False):
        fields["logprobs"] = True
    try:
        return GenerateConfig(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None


def build_model(args: argparse.Namespace, model: str | None = None):
    from improv.agents.errors import ConfigError
    from improv.agents.registry import get_model

    name = model if model is not None else args.model
    if name is not None and not name.strip():  # `-m ''` (an unset shell variable) is a mistake, not "the default"
        raise ConfigError("-m '': empty model string; expected <provider>/<model>, e.g. openai/gpt-4o-mini")

    from improv.agents.providers.hf import read_chat_template

    template = getattr(args, "chat_template", None)
    return get_model(
        name,
        cache=getattr(args, "cache", False),
        max_connections=getattr(args, "max_connections", 16),
        chat_template=read_chat_template(template) if template else None,
    )


def build_agent(args: argparse.Namespace):
    """The `Agent` the model options describe."""
    from improv.agents.agent import Agent

    persona = None
    if getattr(args, "persona", None):
        from improv.personas import get_persona  # type: ignore[attr-defined]

        persona = get_persona(args.persona)
    agent = Agent(build_model(args), persona, generate_config(args), parse_vars(getattr(args, "var", [])))
    agent.system_prompt  # fail now, with a clear message, if a template variable is missing
    return agent


def print_json(data: Any) -> None:
    """Print JSON; pydantic models are dumped in JSON mode. Control and bidi characters are
    written as escapes (`agents.text.json_safe`): the same JSON, nothing raw on a terminal."""
    from improv.agents.text import json_safe

    if hasattr(data, "model_dump_json"):
        sys.stdout.write(json_safe(data.model_dump_json(indent=2)) + "\n")
    else:
        sys.stdout.write(json_safe(json.dumps(data, indent=2, default=str)) + "\n")


def write_output(target: str, text: str, option: str) -> None:
    """Write an output file the user named, atomically; a folder, a missing parent folder or
    an unwritable place is one line naming the option (no folder is created unasked)."""
    from pathlib import Path

    from improv.agents.errors import ConfigError
    from improv.transcripts.store import atomic_write

    path = Path(target)
    if path.is_dir():
        raise ConfigError(f"{option} {target}: is a folder; name a file to write")
    if not path.parent.is_dir():
        raise ConfigError(f"{option} {target}: folder {path.parent} does not exist; create it first")
    try:
        atomic_write(path, text)
    except OSError as err:
        raise ConfigError(f"{option} {target}: cannot write: {err.strerror or err}") from None
