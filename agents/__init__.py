"""Model backends behind one interface, generation config, and the `Agent`.

- `get_model("provider/model")` -> `Model` (retries, concurrency limit, optional cache);
- `Agent(model, persona, config)` turns a history into a reply;
- `parse_run_spec(...)` -> `RunSpec` (what a front end was given, checked once), then
  `build_model(spec)` / `build_agent(spec)`;
- core types: `Message`, `GenerateConfig`, `Completion`, `Choice`, `Capabilities`;
- errors: `ImprovError` (user-fixable, exit 2), `ConfigError`, `CapabilityError`, `ProviderError`.

Names are resolved lazily (PEP 562), so importing `agents.errors` does not load pydantic, and
provider SDKs (openai, anthropic, torch, transformers) load only when a model string names them.
"""

from improv.personas.lazy import lazy_exports

_EXPORTS = {
    "Agent": "agent", "Model": "model", "RetryPolicy": "retry",
    "DEFAULT_MODEL": "spec", "RunSpec": "spec", "build_agent": "spec", "build_model": "spec",
    "default_model": "spec", "parse_run_spec": "spec", "PROVIDERS": "registry", "get_model": "registry", "parse_model_string": "registry",
    "CapabilityError": "errors", "ConfigError": "errors", "ImprovError": "errors",
    "ProviderConfigError": "errors", "ProviderError": "errors", "RequestRefused": "errors", "SettingError": "errors",
    "Capabilities": "types", "Choice": "types", "Completion": "types", "GenerateConfig": "types",
    "Message": "types", "TokenLogprob": "types", "TopLogprob": "types", "Usage": "types",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
