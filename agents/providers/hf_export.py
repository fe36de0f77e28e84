"""A model folder (config.json, safetensors, tokenizer with its chat template) from any hf/
source, for servers that want a folder (vLLM) or tools that cannot read GGUF.

transformers refuses ``save_pretrained`` on a GGUF-loaded model because the load leaves its
GGUF "quantizer" attached, although the weights are already dequantised to ordinary tensors; the
export drops that marker and saves the plain weights. The folder is written beside the target
under a temporary name and renamed into place, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ConfigError, SettingError
from .hf import from_source
from .hf_placement import Placement
from .hf_source import resolve

DTYPES = ("float32", "bfloat16", "float16")


def export_model_folder(source: str | Path, out: str | Path, *, dtype: str = "float32") -> Path:
    """Write the model named by ``source`` (a GGUF file, a directory or a hub id) to the new
    folder ``out`` and return it. Refuses an existing ``out``."""
    if dtype not in DTYPES:
        raise SettingError("dtype", f"expected one of {', '.join(DTYPES)}", repr(dtype))
    target = Path(out).expanduser()
    if target.exists():
        raise ConfigError(f"{target} already exists; choose a new folder")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent} is not a folder (the export's parent must exist)")
    tokenizer, model, _ = from_source(resolve(str(source)), placement=Placement(dtype=dtype), require_template=False)
    model.hf_quantizer = None  # the weights are plain tensors already (see the module docstring)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return write_model_folder(model, tokenizer, target)


def write_model_folder(model, tokenizer, target: Path, extra: dict[str, str] | None = None) -> Path:
    """Save a transformers model and tokenizer (and ``extra`` files, name -> text) as the new
    folder ``target``: written beside it under a temporary name and renamed into place, so a
    failure leaves nothing half-written; files get the user's usual permissions."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        for name, text in (extra or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        for path in [staging, *staging.iterdir()]:  # mkdtemp and the writers make private files
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


__all__ = ["export_model_folder", "write_model_folder", "DTYPES"]
