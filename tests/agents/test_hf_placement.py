"""Device, dtype, multi-device sizing and the out-of-memory fallback, on the CPU: a real dtype, a
size estimate on the ``meta`` device, and injected out-of-memory errors."""

from __future__ import annotations

import pytest
import torch

from improv.agents import GenerateConfig, Message, get_model
from improv.agents.errors import SettingError
from improv.agents.providers import hf_scoring
from improv.agents.providers.hf_placement import Placement, estimate_bytes, fit_to_device, parse_max_memory, resolve
from improv.cli import main

MSGS = [Message(role="user", content="Is it an animal?")]


def test_auto_on_this_machine_is_cpu_float32(monkeypatch):
    for var in ("IMPROV_DEVICE", "IMPROV_DTYPE", "IMPROV_QUANTIZE", "IMPROV_MAX_MEMORY"):
        monkeypatch.delenv(var, raising=False)
    assert resolve() == Placement(device="cpu", dtype="float32")
    assert resolve("cpu", "bfloat16").describe() == {"device": "cpu", "dtype": "bfloat16", "quantization": "none"}


@pytest.mark.parametrize("var,value,named", [
    ("IMPROV_DEVICE", "cuda:7", "IMPROV_DEVICE"), ("IMPROV_DEVICE", "tpu", "IMPROV_DEVICE"),
    ("IMPROV_DEVICE", "mps", "IMPROV_DEVICE"), ("IMPROV_DTYPE", "float8", "IMPROV_DTYPE"),
    ("IMPROV_QUANTIZE", "4bit", "IMPROV_QUANTIZE"), ("IMPROV_QUANTIZE", "3bit", "IMPROV_QUANTIZE"),
    ("IMPROV_MAX_MEMORY", "lots", "IMPROV_MAX_MEMORY"), ("IMPROV_MAX_MEMORY", "20GiB", "IMPROV_MAX_MEMORY"),
])
def test_an_unavailable_setting_names_itself(monkeypatch, var, value, named):
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingError) as err:
        resolve()
    assert err.value.setting == named


def test_the_cli_names_the_variable_and_exits_2_before_loading(monkeypatch, capsys, clean_env):
    clean_env.setenv("IMPROV_DEVICE", "cuda:7")
    assert main(["ask", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "IMPROV_DEVICE" in err and "cuda:7" in err
    clean_env.delenv("IMPROV_DEVICE")
    assert main(["ask", "--no-save", "--device", "cuda", "hi"]) == 2
    assert "--device" in capsys.readouterr().err
    assert main(["ask", "--no-save", "-m", "mock/echo", "--dtype", "bfloat16", "hi"]) == 2
    assert "--dtype" in capsys.readouterr().err  # a server (or a script) places its own weights


def test_max_memory_parses_as_accelerate_takes_it():
    assert parse_max_memory("0=20GiB, 1=18GiB,cpu=64GiB") == {0: "20GiB", 1: "18GiB", "cpu": "64GiB"}
    assert parse_max_memory("20GiB") == {"*": "20GiB"}
    assert parse_max_memory(None) is None


def test_size_estimate_on_meta_device_and_the_spread_decision(tiny_model_dir):
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(tiny_model_dir))
    f32 = estimate_bytes(config, "float32", torch, transformers)
    bf16 = estimate_bytes(config, "bfloat16", torch, transformers)
    real = transformers.AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    assert f32 == sum(p.numel() for p in real.parameters()) * 4 and bf16 * 2 == f32
    gpu = Placement(device="cuda:0", dtype="bfloat16", may_spread=True)
    assert fit_to_device(gpu, config, torch, transformers, free_bytes=10 * bf16).device_map is None
    assert fit_to_device(gpu, config, torch, transformers, free_bytes=bf16 // 2).device_map == "auto"
    pinned = Placement(device="cuda:1", dtype="bfloat16")  # an index given: never spread
    assert fit_to_device(pinned, config, torch, transformers, free_bytes=1).device_map is None


async def test_bfloat16_runs_and_is_recorded(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("IMPROV_DTYPE", "bfloat16")
    model = get_model(f"hf/{tiny_model_dir}")
    out = await model.generate(MSGS, GenerateConfig(max_tokens=3, temperature=0))
    lm = await model.backend.load_weights()
    assert next(lm.model.parameters()).dtype == torch.bfloat16
    assert out.settings["dtype"] == "bfloat16" and out.settings["device"] == "cpu"
    scores = await model.score(MSGS, ["yes", "no"])
    assert all(s < 0 for s in scores)


async def test_scoring_halves_a_chunk_that_runs_out_of_memory(tiny_model_dir, monkeypatch):
    model = get_model(f"hf/{tiny_model_dir}")
    lm = await model.backend.load_weights()
    conts = [f"answer number {i}" for i in range(12)]
    want = await model.score(MSGS, conts)
    real = lm.model.forward
    widths = []

    def forward(*args, **kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and ids.shape[0] > 3:  # a batch wider than 3 rows "does not fit"
            widths.append(ids.shape[0])
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(lm.model, "forward", forward)
    got = await model.score(MSGS, conts)
    assert widths and max(abs(a - b) for a, b in zip(got, want)) < 1e-4


async def test_sampling_halves_a_batch_that_runs_out_of_memory(tiny_model_dir, monkeypatch):
    model = get_model(f"hf/{tiny_model_dir}")
    lm = await model.backend.load_weights()
    real = lm.model.generate
    rows = []

    def generate(*args, **kwargs):
        rows.append(kwargs["input_ids"].shape[0])
        if kwargs["input_ids"].shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(lm.model, "generate", generate)
    out = await model.generate(MSGS, GenerateConfig(n=8, max_tokens=2, temperature=1.0, seed=1))
    assert len(out.choices) == 8 and max(rows) == 8 and rows[-1] <= 2


def test_oom_detection():
    assert hf_scoring.is_out_of_memory(torch.OutOfMemoryError("x"), torch)
    assert hf_scoring.is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate"), torch)
    assert not hf_scoring.is_out_of_memory(RuntimeError("shape mismatch"), torch)
