"""One run spec: what a front end asked for (model string, persona, variables, generation
settings, chat template, cache, connection limit), parsed once at the edge into a typed object,
then turned into a `Model` or an `Agent` by `build_model` / `build_agent`.

Every CLI command and TUI screen goes through `parse_run_spec`, so the default model, the
persona lookup and the checks on every setting live here once. Errors are `SettingError`s that
name the setting (``model``, ``temperature``, ``variables``...), never a CLI flag or a screen
field: each front end words them in its own terms.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import SettingError
from .model import DEFAULT_MAX_CONNECTIONS
from .types import GenerateConfig

#: the built-in model, used when no model string is given and $IMPROV_MODEL is unset
DEFAULT_MODEL = "organism"


def default_model() -> str:
    """The model string used when none is given: ``$IMPROV_MODEL``, else the built-in model.
    The one place the default is resolved."""
    return os.environ.get("IMPROV_MODEL", "").strip() or DEFAULT_MODEL


def resolve_model(model: str | None) -> str:
    """``model`` stripped, or the default when it is None; an empty or blank string is a mistake
    (an unset shell variable), not "the default"."""
    if model is None:
        return default_model()
    if not model.strip():
        raise SettingError("model", "empty model string; expected <provider>/<model>, e.g. openai/gpt-4o-mini", repr(model))
    return model.strip()


class RunSpec(BaseModel):
    """What to run: a model string and everything around it. Frozen; build a model or agent
    from it with `build_model` / `build_agent`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="provider/model string, already resolved (never empty)")
    persona: str | None = Field(None, description="persona name or YAML/card file")
    variables: dict[str, str] = Field(default_factory=dict, description="persona template variables")
    config: GenerateConfig = Field(default_factory=GenerateConfig, description="generation settings")
    chat_template: str | None = Field(None, description="Jinja chat template file for an hf/ model")
    device: str | None = Field(None, description="in-process models: auto, cpu, cuda, cuda:N, mps (else $IMPROV_DEVICE)")
    dtype: str | None = Field(None, description="in-process models: auto, float32, bfloat16, float16 (else $IMPROV_DTYPE)")
    cache: bool = Field(False, description="reuse samples from the on-disk response cache")
    max_connections: int = Field(DEFAULT_MAX_CONNECTIONS, ge=1, description="concurrent requests per endpoint")

    def with_model(self, model: str | None) -> "RunSpec":
        """The same settings for another model (a judge, a predictor): persona and sampling
        settings are the caller's to keep or drop."""
        return self.model_copy(update={"model": resolve_model(model)})


def parse_variables(pairs: Iterable[str] | str | Mapping[str, str] | None) -> dict[str, str]:
    """``NAME=VALUE`` pairs (a list, or one string of comma-separated pairs as typed in a field)."""
    if pairs is None:
        return {}
    if isinstance(pairs, Mapping):
        return {str(k): str(v) for k, v in pairs.items()}
    typed = isinstance(pairs, str)  # one field, "a=1, b=2": spaces around a pair are layout
    if typed:
        pairs = [p.strip() for p in pairs.split(",") if p.strip()]
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SettingError("variables", "expected NAME=VALUE", repr(pair))
        out[name.strip() if typed else name] = value.strip() if typed else value
    return out


def parse_config(**fields: Any) -> GenerateConfig:
    """A `GenerateConfig` from the settings given (None values skipped); a bad value is a
    `SettingError` naming the field."""
    given = {k: v for k, v in fields.items() if v is not None}
    try:
        return GenerateConfig(**given)
    except ValidationError as err:
        first = err.errors()[0]
        raise SettingError(str(first["loc"][0]) if first["loc"] else "generation", first["msg"]) from None


def parse_run_spec(
    model: str | None = None,
    *,
    persona: str | None = None,
    variables: Iterable[str] | str | Mapping[str, str] | None = None,
    config: GenerateConfig | None = None,
    chat_template: str | None = None,
    cache: bool = False,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    device: str | None = None,
    dtype: str | None = None,
    **generation: Any,
) -> RunSpec:
    """The one parser for what a front end was given. ``generation`` takes the
    `GenerateConfig` fields (temperature, top_p, max_tokens, seed, n, logprobs...); None means
    unset. The model string's provider is checked here, so a typo fails before any work."""
    from .registry import parse_model_string

    name = resolve_model(model)
    try:
        parse_model_string(name)
    except SettingError:
        raise
    except Exception as err:  # ConfigError from the registry: the model setting is wrong
        raise SettingError("model", str(err)) from None
    if generation.get("n") == 1:
        generation.pop("n")
    if generation.get("logprobs") is False:
        generation.pop("logprobs")
    parsed = parse_config(**generation)
    if config is not None:
        parsed = config.merged(parsed)
    if max_connections < 1:
        raise SettingError("max_connections", "must be at least 1", str(max_connections))
    if persona is not None and not persona.strip():
        persona = None
    return RunSpec(model=name, persona=persona, variables=parse_variables(variables), config=parsed,
                   chat_template=chat_template, cache=cache, max_connections=max_connections,
                   device=device or None, dtype=dtype or None)


def build_model(spec: RunSpec, *, retry=None):
    """The `Model` a spec names (its cache, connection limit and chat template)."""
    from .registry import get_model

    template = None
    if spec.chat_template:
        from .providers.hf import read_chat_template

        template = read_chat_template(spec.chat_template)
    return get_model(spec.model, cache=spec.cache, max_connections=spec.max_connections,
                     chat_template=template, retry=retry, device=spec.device, dtype=spec.dtype)


def load_persona(spec: RunSpec):
    """The spec's persona (None when it names none)."""
    if not spec.persona:
        return None
    from improv.personas import get_persona  # type: ignore[attr-defined]

    return get_persona(spec.persona)


def build_agent(spec: RunSpec, model=None):
    """The `Agent` a spec describes: its model (or ``model``, when the caller already has one),
    persona, variables and generation settings. A missing template variable fails here, with
    the variable's name, not at the first reply."""
    from .agent import Agent

    persona = load_persona(spec)
    agent = Agent(model if model is not None else build_model(spec), persona, spec.config, spec.variables)
    agent.system_prompt  # noqa: B018 - render once now so a missing variable fails early
    return agent


__all__ = [
    "DEFAULT_MODEL", "RunSpec", "build_agent", "build_model", "default_model", "load_persona",
    "parse_config", "parse_run_spec", "parse_variables", "resolve_model",
]
