"""Model strings to backends, with providers registered lazily.

A provider is a dotted path to a factory ``create(rest: str) -> Backend``; its module (and the
SDK it imports) is loaded only when a model string names it, so ``improv --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from .cache import ResponseCache
from .errors import ConfigError, SettingError
from .model import DEFAULT_MAX_CONNECTIONS, Model
from .retry import RetryPolicy
from .spec import DEFAULT_MODEL, default_model  # noqa: F401  (DEFAULT_MODEL: re-exported for old imports)
from .types import Capabilities, GenerateConfig


@dataclass(frozen=True)
class Provider:
    name: str
    factory: str  # "module:function"
    example: str
    description: str
    env: tuple[str, ...] = ()  # variables that must be set for it to be configured
    #: what its backends can do: declared here only; the backends take it from here
    capabilities: Capabilities = field(default_factory=Capabilities)

    def capability_names(self) -> list[str]:
        """The optional capabilities it has, by name (streaming, which all have, left out)."""
        return [k for k, v in self.capabilities.model_dump().items() if v and k != "streaming"]

    def configured(self) -> bool:
        return all(os.environ.get(v) for v in self.env)


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in [
        Provider("organism", "improv.agents.providers.organism:create", "organism",
                 "the built-in model (in-process, no key, no network)", (),
                 Capabilities(logprobs=True, native_n=True, seed=True, score=True, hidden_states=True)),
        Provider("openai", "improv.agents.providers.openai_chat:create_openai", "openai/gpt-4o-mini",
                 "OpenAI Chat Completions", ("OPENAI_API_KEY",), Capabilities(logprobs=True, native_n=True, seed=True, batch=True)),
        Provider("anthropic", "improv.agents.providers.anthropic_messages:create", "anthropic/claude-sonnet-4-5",
                 "Anthropic Messages API (n by concurrent calls, no logprobs)", ("ANTHROPIC_API_KEY",), Capabilities(batch=True)),
        Provider("ollama", "improv.agents.providers.openai_chat:create_ollama", "ollama/llama3.1",
                 "Ollama (OLLAMA_BASE_URL, default http://localhost:11434/v1)", (), Capabilities(logprobs=True, seed=True)),
        Provider("vllm", "improv.agents.providers.openai_chat:create_vllm", "vllm/meta-llama/Llama-3.1-8B-Instruct",
                 "vLLM server (VLLM_BASE_URL, default http://localhost:8000/v1; exact scoring from prompt log-probabilities)", (),
                 Capabilities(logprobs=True, native_n=True, seed=True, score=True)),
        Provider("llamacpp", "improv.agents.providers.openai_chat:create_llamacpp", "llamacpp/default",
                 "llama.cpp server (LLAMACPP_BASE_URL, default http://localhost:8080/v1)", (), Capabilities(logprobs=True, seed=True)),
        Provider("openai-api", "improv.agents.providers.openai_chat:create_compatible", "openai-api/<service>/<model>",
                 "any OpenAI-compatible server (<SERVICE>_BASE_URL, <SERVICE>_API_KEY)", (), Capabilities(logprobs=True, native_n=True, seed=True, batch=True)),
        Provider("hf", "improv.agents.providers.hf:create", "hf/path/to/model-dir",
                 "transformers in-process: a local directory, a .gguf file, or a hub id via the HF cache", (),
                 Capabilities(logprobs=True, native_n=True, seed=True, score=True, hidden_states=True)),
        Provider("mock", "improv.agents.providers.mock:create", "mock/echo",
                 "scripted replies for tests and demos", (), Capabilities(seed=True, native_n=True)),
    ]
}


def capabilities_of(provider: str) -> Capabilities:
    """What a provider's backends can do (the one declaration, in `PROVIDERS`)."""
    return PROVIDERS[provider].capabilities


def parse_model_string(model: str) -> tuple[Provider, str]:
    """Split ``provider/rest`` and look the provider up; ``rest`` may contain slashes."""
    model = model.strip()
    if not model:
        raise ConfigError("empty model string; expected <provider>/<model>, e.g. openai/gpt-4o-mini")
    provider_name, _, rest = model.partition("/")
    provider = PROVIDERS.get(provider_name)
    if provider is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"unknown provider {provider_name!r} in model {model!r}; known providers: {known}")
    if not rest and provider_name != "organism":
        raise ConfigError(f"model {model!r} names no model; expected {provider.example}")
    return provider, rest


#: providers that render prompts in-process and so can take a chat template
_TEMPLATED = {"hf"}
#: providers whose weights load in this process, and so take a device and dtype
IN_PROCESS = {"hf", "organism"}


def create_backend(model: str, *, chat_template: str | None = None, device: str | None = None,
                   dtype: str | None = None):
    """The backend for a model string. ``chat_template`` (Jinja text) overrides the model's own
    template; only in-process providers render templates, so the others refuse it. ``device``
    and ``dtype`` (else ``$IMPROV_DEVICE`` / ``$IMPROV_DTYPE``) place in-process weights
    (`agents.providers.hf_placement`); a server places its own, so naming them for one is refused."""
    provider, rest = parse_model_string(model)
    module_name, _, func = provider.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), func)
    kwargs: dict = {}
    if chat_template is not None:
        if provider.name not in _TEMPLATED:
            raise SettingError(
                "chat_template", f"a chat template applies to hf/ models only; {provider.name}/ renders prompts on the server"
            )
        kwargs["chat_template"] = chat_template
    for setting, value in (("device", device), ("dtype", dtype)):
        if value is None or not value.strip():
            continue
        if provider.name not in IN_PROCESS:
            raise SettingError(setting, f"{setting} applies to in-process models (hf/, organism); "
                                        f"{provider.name}/ runs on its server, which sets its own")
        kwargs[setting] = value
    return factory(rest, **kwargs)


def get_model(
    model: str | None = None,
    *,
    config: GenerateConfig | None = None,
    cache: bool | ResponseCache = False,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    retry: RetryPolicy | None = None,
    on_retry=None,
    chat_template: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> Model:
    """The `Model` for a model string (default: `spec.default_model()`). Front ends build models
    from a `RunSpec` (`spec.build_model`); this is the factory underneath."""
    backend = create_backend(model or default_model(), chat_template=chat_template, device=device, dtype=dtype)
    if cache is True:
        cache = ResponseCache()
    return Model(
        backend,
        config=config,
        retry=retry,
        max_connections=max_connections,
        cache=cache or None,
        on_retry=on_retry,
    )
