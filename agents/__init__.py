"""Model backends behind one interface, generation config, and the `Agent`.

- `get_model("provider/model")` -> `Model` (retries, concurrency limit, optional cache);
- `Agent(model, persona, config)` turns a history into a reply;
- core types: `Message`, `GenerateConfig`, `Completion`, `Choice`, `Capabilities`;
- errors: `ImprovError` (user-fixable, exit 2), `ConfigError`, `CapabilityError`, `ProviderError`.

Provider SDKs (openai, anthropic, torch, transformers) are imported only when a model string
names them.
"""

from .agent import Agent
from .errors import CapabilityError, ConfigError, ImprovError, ProviderConfigError, ProviderError
from .model import Model
from .registry import DEFAULT_MODEL, PROVIDERS, get_model, parse_model_string
from .retry import RetryPolicy
from .types import Capabilities, Choice, Completion, GenerateConfig, Message, TokenLogprob, TopLogprob, Usage

__all__ = [
    "Agent", "Capabilities", "CapabilityError", "Choice", "Completion", "ConfigError", "DEFAULT_MODEL",
    "GenerateConfig", "ImprovError", "Message", "Model", "PROVIDERS", "ProviderConfigError", "ProviderError",
    "RetryPolicy", "TokenLogprob", "TopLogprob", "Usage", "get_model", "parse_model_string",
]
