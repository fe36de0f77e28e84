"""``organism``: the built-in model, loaded in-process through the hf backend.

The weights live in the ``model/`` directory of the ``organism`` package (config.json,
model.safetensors, tokenizer files with a chat template). The directory is located without
importing ``organism`` (so no training code or game tables load just to chat). ``organism``
alone means that default checkpoint; ``organism/<dir>`` loads another checkpoint directory of
the organism (e.g. one a training run wrote) through the same code path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ConfigError
from .hf import HFBackend

WHAT = "built-in model"


def default_model_dir() -> Path:
    """``<organism package>/model``, found without importing the package."""
    spec = importlib.util.find_spec("improv.organism")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ConfigError("the organism package is not installed; reinstall improv-eval")
    return Path(locations[0]) / "model"


def weights_missing(path: Path) -> bool:
    """True when ``path`` holds no loadable checkpoint (config.json and safetensors weights)."""
    return not (path.is_dir() and (path / "config.json").is_file() and any(path.glob("*.safetensors")))


def create(rest: str, device: str | None = None, dtype: str | None = None) -> HFBackend:
    if rest.strip():
        path = Path(rest).expanduser()
        if weights_missing(path):
            raise ConfigError(f"organism checkpoint {path}: no config.json and *.safetensors weights there")
        return HFBackend(path, name=f"organism/{rest}", what="organism checkpoint", device=device, dtype=dtype)
    path = default_model_dir()
    if weights_missing(path):
        raise ConfigError(f"the built-in model's weights are missing at {path}; run `improv organism train`")
    return HFBackend(path, name="organism", what=WHAT, device=device, dtype=dtype)


__all__ = ["create", "default_model_dir", "weights_missing"]
