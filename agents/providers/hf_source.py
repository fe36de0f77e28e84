"""Where an ``hf/`` model comes from: a local directory, a GGUF file, or a Hugging Face hub id.

``resolve(rest)`` turns the part of the model string after ``hf/`` into a `ModelSource`
(the folder and, for a GGUF, the file name that ``from_pretrained(folder, gguf_file=...)``
takes). Resolution is cheap and happens when the backend is made, so a wrong path or a
missing cache entry fails at once with one line; the weights load later, on first use.

- ``hf/path/to/model.gguf``: a GGUF file, dequantised in-process by transformers (needs the
  ``gguf`` package).
- ``hf/path/to/dir``: a directory with ``config.json`` and ``*.safetensors`` weights.
- ``hf/org/name``: a hub id when no such local path exists, resolved through the standard
  Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``)
  and downloaded when it is not cached, unless ``HF_HUB_OFFLINE`` is set.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..text import first_line

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
#: what a download fetches: config, weights, tokenizer and chat template; never code
_HUB_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "tokenizer*"]


@dataclass(frozen=True)
class ModelSource:
    folder: Path
    gguf_file: str | None = None
    hub_id: str | None = None

    @property
    def path(self) -> Path:
        """The file or directory the user named (for messages and cache keys)."""
        return self.folder / self.gguf_file if self.gguf_file else self.folder


def check_model_dir(path: Path, what: str = "hf model") -> Path:
    """Refuse a directory that is missing, has no config or no safetensors weights."""
    if not path.exists():
        raise ConfigError(f"{what} directory not found: {path}")
    if not path.is_dir():
        raise ConfigError(f"{what} path is not a directory: {path}")
    if not (path / "config.json").is_file():
        raise ConfigError(f"{what} at {path} has no config.json")
    if not any(path.glob("*.safetensors")):
        raise ConfigError(f"{what} weights are missing at {path} (no *.safetensors file)")
    return path


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path("~/.cache/huggingface/hub").expanduser()


def _gguf(path: Path, what: str) -> ModelSource:
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    if importlib.util.find_spec("gguf") is None:  # transformers needs it to read the file
        raise ConfigError(f"{path}: reading a GGUF file needs the gguf package (pip install gguf accelerate)")
    return ModelSource(path.parent, path.name)


def _hub(repo_id: str, what: str) -> ModelSource:
    from huggingface_hub import snapshot_download

    cache = hub_cache_dir()
    try:
        folder = snapshot_download(repo_id, cache_dir=cache, local_files_only=True)
    except Exception:  # not cached (or a partial entry): try the hub below
        folder = None
    if folder is None:
        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
            raise ConfigError(f"hf/{repo_id}: not a local path, and not in the Hugging Face cache at {cache} (HF_HUB_OFFLINE is set)")
        try:
            folder = snapshot_download(repo_id, cache_dir=cache, allow_patterns=_HUB_FILES, etag_timeout=10)
        except Exception as err:
            first = first_line(err)
            raise ConfigError(
                f"hf/{repo_id}: not a local path, not in the Hugging Face cache at {cache}, and the download failed: {first}"
            ) from None
    path = Path(folder)
    ggufs = sorted(path.glob("*.gguf"))
    if not (path / "config.json").is_file() and len(ggufs) == 1:
        return ModelSource(path, ggufs[0].name, hub_id=repo_id)
    check_model_dir(path, f"{what} {repo_id} (cached at {path})")
    return ModelSource(path, hub_id=repo_id)


def resolve(rest: str, what: str = "hf model") -> ModelSource:
    """The source named by ``rest`` (see the module docstring)."""
    text = rest.strip()
    if not text:
        raise ConfigError("hf needs a model: hf/<dir>, hf/<file.gguf> or hf/<org>/<name>")
    path = Path(text).expanduser()
    if path.suffix.lower() == ".gguf":
        return _gguf(path, what)
    if path.exists() or not _HUB_ID.match(text):
        return ModelSource(check_model_dir(path, what))
    return _hub(text, what)


__all__ = ["ModelSource", "resolve", "check_model_dir", "hub_cache_dir"]
