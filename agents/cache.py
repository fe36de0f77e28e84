"""Opt-in on-disk response cache, one file per sample.

Keyed by model, messages, config (without ``n``) and sample index, so asking for n=5 after
n=3 reuses the first three samples and draws two more.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from improv.personas.storage import atomic_write, data_dir

from .types import Choice, GenerateConfig, Message


def default_cache_dir() -> Path:
    """``$IMPROV_CACHE_DIR``, else ``$IMPROV_DATA_DIR/cache/responses``, else the user cache dir."""
    env = os.environ.get("IMPROV_CACHE_DIR")
    if env:
        return Path(env)
    if os.environ.get("IMPROV_DATA_DIR"):  # everything improv writes stays under the data dir the user chose
        return data_dir() / "cache" / "responses"
    import platformdirs

    return Path(platformdirs.user_cache_dir("improv")) / "responses"


class ResponseCache:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()

    def key(self, model: str, messages: Sequence[Message], config: GenerateConfig, index: int) -> str:
        payload = {
            "model": model,
            "messages": [m.model_dump() for m in messages],
            "config": config.model_dump(exclude={"n"}),
            "index": index,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Choice | None:
        path = self._path(key)
        try:
            return Choice.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, choice: Choice) -> None:
        atomic_write(self._path(key), choice.model_dump_json(), durable=False)
