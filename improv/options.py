"""Options shared by commands: model, persona, generation settings, output format."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


#: generation settings a command may offer, in the order shown in --help
SETTINGS = ("temperature", "top_p", "max_tokens", "seed", "n", "logprobs")

_SETTING_HELP = {
    "temperature": "sampling temperature, 0 (greedy) to 2 (default: {persona}the provider's)",
    "top_p": "nucleus sampling mass, above 0 up to 1 (default: {persona}1.0)",
    "max_tokens": "most new tokens per reply (default: {persona}the backend's limit)",
    "seed": "sampling seed, for backends that take one (hf/, organism, OpenAI-compatible; refused by anthropic/)",
    "n": "number of samples, each shown (default 1)",
    "logprobs": "ask for token logprobs (hf/, organism, OpenAI-compatible)",
}

#: a library setting name -> the flag that sets it, where it is not --setting-name
_FLAGS = {"model": "-m", "persona": "-p", "variables": "--var", "n": "-n"}


def flag(setting: str) -> str:
    """The CLI flag for a library setting name (``max_tokens`` -> ``--max-tokens``)."""
    if setting.isupper():  # an environment variable (IMPROV_DEVICE): named as it is
        return setting
    return _FLAGS.get(setting, "--" + setting.replace("_", "-"))


def cli_error(err) -> str:
    """A `SettingError` worded for the command line: the flag, then what is wrong."""
    return err.worded(flag)


def cli_hint(err) -> str:
    """The flag that fixes a library error, where there is one (the library names none)."""
    from improv.personas.errors import AlreadyImported, MissingVariable

    if isinstance(err, MissingVariable):
        return f" (e.g. --var {err.variable}=...)"
    if isinstance(err, AlreadyImported):
        return " (use --force to replace it)"
    return ""


def add_model_options(
    parser: argparse.ArgumentParser,
    *,
    persona: bool = True,
    samples: bool = True,
    settings: tuple[str, ...] = SETTINGS,
    model_help: str = "provider/model",
    defaults: dict[str, Any] | None = None,
    help: dict[str, str] | None = None,
    extras: bool = True,
) -> None:
    """``-m`` and its companions, defined once for every command. A command drops what it cannot
    honour: ``persona=False`` (it builds no agent), ``samples=False`` (no ``-n``), ``settings``
    (the generation settings it passes on). ``--chat-template``, ``--cache`` and
    ``--max-connections`` apply to any model, so every command has them (``extras=False``:
    a front end that does not pass them on yet)."""
    defaults = defaults or {}
    fill = "the persona's, else " if persona else ""
    helps = {**{k: v.format(persona=fill) for k, v in _SETTING_HELP.items()}, **(help or {})}
    g = parser.add_argument_group("model")
    g.add_argument("-m", "--model", default=defaults.get("model"),
                   help=f"{model_help} (default: {defaults['model'] if 'model' in defaults else '$IMPROV_MODEL, else the built-in model'})")
    if persona:
        g.add_argument("-p", "--persona", default=None, help="persona name or YAML/card file (improv personas list)")
        g.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                       help="persona template variable (repeatable)")
    names = [s for s in settings if s != "n" or samples]
    # what this command registered, so run_spec reads only these (introspect's -n is not samples)
    parser.set_defaults(_model_settings=tuple(names), _model_persona=persona)
    if "temperature" in names:
        g.add_argument("-t", "--temperature", type=float, default=defaults.get("temperature"), help=helps["temperature"])
    if "top_p" in names:
        g.add_argument("--top-p", type=float, default=defaults.get("top_p"), help=helps["top_p"])
    if "max_tokens" in names:
        g.add_argument("--max-tokens", type=int, default=defaults.get("max_tokens"), help=helps["max_tokens"])
    if "seed" in names:
        g.add_argument("--seed", type=int, default=defaults.get("seed"), help=helps["seed"])
    if "n" in names:
        g.add_argument("-n", type=int, default=defaults.get("n", 1), help=helps["n"])
    if "logprobs" in names:
        g.add_argument("--logprobs", action="store_true", help=helps["logprobs"])
    if not extras:
        return
    g.add_argument("--chat-template", default=None, metavar="FILE",
                   help="Jinja chat template for an hf/ model without one (default: $IMPROV_CHAT_TEMPLATE)")
    g.add_argument("--device", default=None, metavar="DEVICE",
                   help="in-process models: auto, cpu, cuda, cuda:N, mps (default: $IMPROV_DEVICE, else auto)")
    g.add_argument("--dtype", default=None, choices=("auto", "float32", "bfloat16", "float16"),
                   help="in-process models' weights (default: $IMPROV_DTYPE, else auto: bfloat16 on CUDA, float32 on the CPU)")
    g.add_argument("--cache", action="store_true", help="reuse earlier samples from the on-disk response cache")
    g.add_argument("--max-connections", type=int, default=16, help="concurrent requests per endpoint (default 16)")


def add_judge_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--judge", default=None, metavar="MODEL", help=help)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_save_options(parser: argparse.ArgumentParser, what: str = "the transcript") -> None:
    """``--out DIR`` and ``--no-save`` for a command that saves transcripts."""
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"folder to save {what} in (default: $IMPROV_DATA_DIR/transcripts, else "
                             "the user data dir's transcripts folder)")
    parser.add_argument("--no-save", action="store_true", help=f"do not save {what}")


def parse_vars(pairs: list[str]) -> dict[str, str]:
    from improv.agents.spec import parse_variables

    return parse_variables(pairs)


def run_spec(args: argparse.Namespace, model: str | None = None, *, setting: str = "judge"):
    """The one `RunSpec` for a command's options. With ``model`` (another option's model
    string: a judge, a predictor), the spec is for that model, ``setting`` names the option in
    errors, and persona, variables, chat template and generation settings (the main model's) are
    left out."""
    from improv.agents.errors import SettingError
    from improv.agents.spec import parse_run_spec

    common = {"cache": getattr(args, "cache", False), "max_connections": getattr(args, "max_connections", 16)}
    if model is None:
        persona = getattr(args, "_model_persona", True)
        return parse_run_spec(
            getattr(args, "model", None),
            persona=getattr(args, "persona", None) if persona else None,
            variables=getattr(args, "var", None) if persona else None,
            chat_template=getattr(args, "chat_template", None),
            device=getattr(args, "device", None),
            dtype=getattr(args, "dtype", None),
            **common,
            **{s: getattr(args, s, None) for s in getattr(args, "_model_settings", SETTINGS)},
        )
    try:
        return parse_run_spec(model, **common)
    except SettingError as err:
        raise SettingError(setting, err.detail) from None


def generate_config(args: argparse.Namespace):
    return run_spec(args).config


def build_model(args: argparse.Namespace, model: str | None = None, *, setting: str = "judge"):
    """The `Model` for ``-m`` (or for ``model``, another option's model string)."""
    from improv.agents.spec import build_model as build

    return build(run_spec(args, model, setting=setting))


def build_judge(args: argparse.Namespace):
    """The ``--judge`` model, or None."""
    judge = getattr(args, "judge", None)
    return build_model(args, judge, setting="judge") if judge else None


def build_agent(args: argparse.Namespace):
    """The `Agent` the model options describe."""
    from improv.agents.spec import build_agent as build

    return build(run_spec(args))


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
