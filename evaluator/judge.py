"""The evaluators' judge: `agents.judge.Judge` with the prompts in ``evaluator/prompts/*.txt``.

The judge itself (stateless, temperature 0, ``$name`` prompts, ``KEY: value`` answers) is
`improv.agents.judge`, shared with 20 Questions and batch replay; this module only points it at
the evaluators' prompts.
"""

from __future__ import annotations

from pathlib import Path

from improv.agents import judge as _shared
from improv.agents.judge import JudgeReply, last_line, parse_fields, pick_option

PROMPTS = Path(__file__).parent / "prompts"


class Judge(_shared.Judge):
    """A judge over the evaluators' prompts (``evaluator/prompts``) unless told otherwise."""

    def __init__(self, model, *, max_tokens: int = 300, prompts: Path | None = None) -> None:
        super().__init__(model, max_tokens=max_tokens, prompts=prompts or PROMPTS)


def load_prompt(name: str, directory: Path | None = None) -> str:
    return _shared.load_prompt(name, directory or PROMPTS)


def render(name: str, directory: Path | None = None, **values: object) -> str:
    return _shared.render(load_prompt(name, directory), **values)


__all__ = ["PROMPTS", "Judge", "JudgeReply", "last_line", "load_prompt", "parse_fields", "pick_option", "render"]
