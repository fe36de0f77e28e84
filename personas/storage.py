"""Where improv keeps its files, and how it writes them: written once for every package.

- `data_dir()`: ``$IMPROV_DATA_DIR``, else the user data directory (``platformdirs``); the
  transcripts, imported personas, replays and training runs live in folders under it;
- `atomic_write(path, text)`: readers see the old file or the new one, never half of one.

It lives in `personas` only because that is the one package every other may import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def data_dir() -> Path:
    """``$IMPROV_DATA_DIR``, else the user data directory."""
    env = os.environ.get("IMPROV_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("improv"))


def atomic_write(path: Path | str, text: str, *, durable: bool = True) -> None:
    """Write ``text`` to ``path`` (its folder is created) so that readers see the old file or
    the new one, never half. ``durable``: fsync before the rename (off for a cache, where a
    lost file only costs a sample)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["atomic_write", "data_dir"]
