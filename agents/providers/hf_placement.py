"""Where and how an in-process model's weights live: device, dtype, multi-device map, quantisation.

Settings (each an option where a model is chosen, else an environment variable):

- ``device`` / ``IMPROV_DEVICE``: ``auto`` (default), ``cpu``, ``cuda``, ``cuda:N``, ``mps``.
  ``auto`` takes CUDA when present, then MPS, else the CPU.
- ``dtype`` / ``IMPROV_DTYPE``: ``auto`` (default), ``float32``, ``bfloat16``, ``float16``.
  ``auto`` is bfloat16 on CUDA where the GPU supports it (else float16), float16 on MPS,
  float32 on the CPU.
- ``IMPROV_MAX_MEMORY``: a cap per device for multi-device loading, as accelerate takes it:
  ``20GiB`` (each GPU) or ``0=20GiB,1=20GiB,cpu=64GiB``. With ``device=cuda`` (no index) or
  ``auto`` on a machine with CUDA, a model is loaded with ``device_map="auto"`` (spread over
  every GPU, then host memory) when its size, estimated on the ``meta`` device before any
  weight is read, does not fit the first GPU's free memory, or when a cap is given.
- ``IMPROV_QUANTIZE``: ``4bit`` or ``8bit`` loads through bitsandbytes (CUDA only; the
  ``improv-eval[gpu]`` extra); unset means no quantisation.

A value that is not available here (``cuda:7`` on a machine with one GPU, bfloat16 on a GPU
without it, 4-bit on the CPU) is a `SettingError` naming the setting, raised before any weight
loads. `Placement.describe()` is what every transcript records beside a reply.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass

from ..errors import SettingError

DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
DTYPES = ("auto", "float32", "bfloat16", "float16")
QUANTIZE = ("4bit", "8bit")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,3})?)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _setting(value: str | None, var: str) -> tuple[str | None, str]:
    """The value given, else ``$var``; and the name to use in an error (the setting or the variable)."""
    if value is not None and value.strip():
        return value.strip(), var.removeprefix("IMPROV_").lower()
    raw = os.environ.get(var, "").strip()
    return (raw or None), var


@dataclass(frozen=True)
class Placement:
    """Resolved placement: ``device`` is a torch device string (``cpu``, ``cuda:0``, ``mps``)
    where the inputs go; ``device_map`` is ``"auto"`` when the weights are spread by accelerate."""

    device: str = "cpu"
    dtype: str = "float32"
    device_map: str | None = None
    max_memory: dict[str | int, str] | None = None
    quantize: str | None = None
    #: the device was named without an index (``cuda``, ``auto``): a model too big for it may spread
    may_spread: bool = False

    def describe(self) -> dict[str, str]:
        """What a transcript records beside a reply."""
        out = {"device": "auto-map" if self.device_map else self.device, "dtype": self.dtype}
        out["quantization"] = f"bitsandbytes-{self.quantize}" if self.quantize else "none"
        return out

    def load_kwargs(self, torch) -> dict:
        """The ``from_pretrained`` arguments for this placement."""
        kwargs: dict = {"dtype": getattr(torch, self.dtype)}
        if self.device_map:
            kwargs["device_map"] = self.device_map
            if self.max_memory:
                kwargs["max_memory"] = self.max_memory
        if self.quantize:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = (
                BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=getattr(torch, self.dtype))
                if self.quantize == "4bit" else BitsAndBytesConfig(load_in_8bit=True))
            kwargs.setdefault("device_map", {"": self.device})
        return kwargs


def parse_max_memory(raw: str | None, name: str = "IMPROV_MAX_MEMORY") -> dict[str | int, str] | None:
    if raw is None or not raw.strip():
        return None
    out: dict[str | int, str] = {}
    for part in raw.split(","):
        key, sep, size = part.strip().rpartition("=")
        size = size.strip()
        if not _MEMORY.match(size):
            raise SettingError(name, f"expected a size such as 20GiB, or 0=20GiB,1=20GiB,cpu=64GiB; got {part.strip()!r}")
        if not sep:
            out["*"] = size
        elif key.strip().isdigit():
            out[int(key)] = size
        elif key.strip() in ("cpu", "disk", "mps"):
            out[key.strip()] = size
        else:
            raise SettingError(name, f"unknown device {key.strip()!r}; expected a GPU index, cpu or disk")
    return out


def _expand_memory(cap: dict[str | int, str] | None, gpus: int) -> dict[str | int, str] | None:
    if cap is None or "*" not in cap:
        return cap
    each = cap.pop("*")
    return {**{i: each for i in range(gpus)}, **cap}


def resolve(device: str | None = None, dtype: str | None = None, *, torch=None) -> Placement:
    """The placement for the settings given (None: the environment, then ``auto``), checked
    against what this machine has. ``torch`` is imported when not given."""
    dev, dev_name = _setting(device, "IMPROV_DEVICE")
    typ, typ_name = _setting(dtype, "IMPROV_DTYPE")
    quant, quant_name = _setting(None, "IMPROV_QUANTIZE")
    cap_raw, cap_name = _setting(None, "IMPROV_MAX_MEMORY")
    dev = (dev or "auto").lower()
    typ = (typ or "auto").lower()
    if not _DEVICE.match(dev):
        raise SettingError(dev_name, f"unknown device {dev!r}; expected one of {', '.join(DEVICES)}")
    if typ not in DTYPES:
        raise SettingError(typ_name, f"unknown dtype {typ!r}; expected one of {', '.join(DTYPES)}")
    if quant is not None and quant.lower() not in QUANTIZE:
        raise SettingError(quant_name, f"unknown quantisation {quant!r}; expected 4bit or 8bit (or unset)")
    cap = parse_max_memory(cap_raw, cap_name)
    if torch is None:
        import torch
    cuda = torch.cuda.is_available()
    gpus = torch.cuda.device_count() if cuda else 0
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())

    if dev == "auto":
        dev = "cuda" if cuda else "mps" if mps else "cpu"
    if dev.startswith("cuda"):
        if not cuda:
            raise SettingError(dev_name, f"{dev}: no CUDA device is available here (torch {torch.__version__}"
                                         f"{'' if torch.version.cuda else ', a CPU-only build'})")
        index = int(dev.partition(":")[2] or 0)
        if index >= gpus:
            raise SettingError(dev_name, f"{dev}: this machine has {gpus} CUDA device(s) (cuda:0..cuda:{gpus - 1})")
    elif dev == "mps" and not mps:
        raise SettingError(dev_name, "mps: the Apple Metal device is not available here")

    if typ == "auto":
        if dev.startswith("cuda"):
            typ = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            typ = "float16" if dev == "mps" else "float32"
    elif typ == "bfloat16" and dev.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise SettingError(typ_name, f"bfloat16: {dev} does not support it; use float16")

    if quant is not None:
        if not dev.startswith("cuda"):
            raise SettingError(quant_name, f"{quant}: bitsandbytes quantisation needs a CUDA device; {dev} has none")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise SettingError(quant_name, f"{quant}: bitsandbytes is not installed (pip install 'improv-eval[gpu]')") from None
        quant = quant.lower()

    device_map = None
    spread = dev == "cuda"
    if spread:  # no index: may spread over the GPUs
        device_map = "auto" if (cap is not None or gpus > 1) else None
        dev = "cuda:0"
    elif cap is not None:
        raise SettingError(cap_name, f"a memory cap spreads a model over GPUs; the device is {dev}")
    return Placement(device=dev, dtype=typ, device_map=device_map, max_memory=_expand_memory(cap, gpus), quantize=quant,
                     may_spread=spread)


def estimate_bytes(config, dtype: str, torch, transformers) -> int:
    """The weights' size for ``config`` in ``dtype``, measured on the ``meta`` device (no memory)."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    count = sum(p.numel() for p in model.parameters())
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    if getattr(config, "tie_word_embeddings", False) and out is not None and out.weight is not inp.weight:
        count -= out.weight.numel()  # tied when loaded (one tensor), not on the meta device
    return count * getattr(torch, dtype).itemsize


def fit_to_device(placement: Placement, config, torch, transformers, *, free_bytes: int | None = None) -> Placement:
    """``placement`` with ``device_map="auto"`` when the weights would not fit the one device's
    free memory (90% of it, leaving room for activations); CUDA only."""
    if placement.device_map or placement.quantize or not placement.may_spread:
        return placement
    if free_bytes is None:
        free_bytes, _ = torch.cuda.mem_get_info(torch.device(placement.device))
    if estimate_bytes(config, placement.dtype, torch, transformers) <= 0.9 * free_bytes:
        return placement
    return dataclasses.replace(placement, device_map="auto")


__all__ = ["DEVICES", "DTYPES", "Placement", "estimate_bytes", "fit_to_device", "parse_max_memory", "resolve"]
