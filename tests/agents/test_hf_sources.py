"""Where an hf/ model comes from: a GGUF file, a directory, a hub id in a laid-out cache; and
a chat template given by the user. The GGUF is the real SmolLM2-135M-Instruct."""

from __future__ import annotations

import shutil

import pytest

from improv.agents.errors import ConfigError
from improv.agents.providers import hf_source
from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig, Message
from improv.cli import main
from tests.tiny_model import CHAT_TEMPLATE

MSGS = [Message(role="user", content="What is the capital of France?")]


def _lay_out_cache(cache, repo_id, model_dir, sha="0123456789abcdef0123456789abcdef01234567"):
    """The layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<sha>/...}."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / sha
    shutil.copytree(model_dir, snap)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(sha)
    return snap


def test_hub_id_resolves_through_a_laid_out_cache_offline(tmp_path, tiny_model_dir, monkeypatch):
    cache = tmp_path / "hub"
    snap = _lay_out_cache(cache, "acme/tiny-chat", tiny_model_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no local folder acme/tiny-chat here
    source = hf_source.resolve("acme/tiny-chat")
    assert source.folder == snap and source.hub_id == "acme/tiny-chat" and source.gguf_file is None


def test_hub_cache_from_hf_home(tmp_path, tiny_model_dir, monkeypatch):
    _lay_out_cache(tmp_path / "home" / "hub", "acme/tiny-chat", tiny_model_dir)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert hf_source.resolve("acme/tiny-chat").hub_id == "acme/tiny-chat"


async def test_a_cached_hub_model_generates(tmp_path, tiny_model_dir, monkeypatch):
    _lay_out_cache(tmp_path / "hub", "acme/tiny-gen", tiny_model_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    model = get_model("hf/acme/tiny-gen")
    completion = await model.generate(MSGS, GenerateConfig(max_tokens=3, temperature=0))
    assert completion.model == "hf/acme/tiny-gen" and completion.choices[0].finish_reason in {"stop", "length"}


def test_missing_cache_entry_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    assert main(["ask", "-m", "hf/acme/not-there", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "acme/not-there" in err and "Hugging Face cache" in err and str(tmp_path / "empty-hub") in err


def test_missing_gguf_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="file not found: .*nothing.gguf"):
        get_model(f"hf/{tmp_path / 'nothing.gguf'}")


def test_a_file_that_is_not_gguf_is_one_line_exit_2(tmp_path, capsys):
    bogus = tmp_path / "fake.gguf"
    bogus.write_bytes(b"this is not a gguf file at all" * 10)
    assert main(["ask", "-m", f"hf/{bogus}", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fake.gguf" in err and "Traceback" not in err


def test_chat_template_file_makes_a_template_less_model_usable(tiny_no_template_dir, tmp_path, capsys):
    template = tmp_path / "chat.jinja"
    template.write_text(CHAT_TEMPLATE)
    # without one: refused, naming the way to give one
    assert main(["ask", "-m", f"hf/{tiny_no_template_dir}", "--no-save", "--max-tokens", "2", "hi"]) == 2
    assert "--chat-template" in capsys.readouterr().err
    assert main(["ask", "-m", f"hf/{tiny_no_template_dir}", "--chat-template", str(template),
                 "--no-save", "--max-tokens", "2", "-t", "0", "hi"]) == 0


def test_chat_template_is_refused_for_server_models(tmp_path, capsys):
    template = tmp_path / "chat.jinja"
    template.write_text(CHAT_TEMPLATE)
    assert main(["ask", "-m", "mock/echo", "--chat-template", str(template), "--no-save", "hi"]) == 2
    assert "hf/ models only" in capsys.readouterr().err


def test_chat_template_env_and_unreadable_file(tmp_path, monkeypatch, tiny_no_template_dir):
    monkeypatch.setenv("IMPROV_CHAT_TEMPLATE", str(tmp_path / "missing.jinja"))
    with pytest.raises(ConfigError, match="missing.jinja"):
        get_model(f"hf/{tiny_no_template_dir}")


# -- the real model ----------------------------------------------------------------------------

async def test_smollm2_gguf_loads_in_process_and_answers(smollm2_gguf):
    model = get_model(f"hf/{smollm2_gguf}")
    completion = await model.generate(MSGS, GenerateConfig(max_tokens=16, temperature=0))
    text = completion.text
    assert "Paris" in text, text
    # the template's end of turn (<|im_end|>) ends the reply, so a short answer stops, not runs out
    assert completion.choices[0].finish_reason == "stop"


async def test_smollm2_cached_scoring_matches_full_logits(smollm2_gguf):
    model = get_model(f"hf/{smollm2_gguf}")
    conts = ["Paris.", "The capital of France is Paris.", "London.", "It was a cat."]
    cached = await model.score(MSGS, conts)
    full = await model.backend.score_full_logits(MSGS, conts)
    assert cached == pytest.approx(full, abs=2e-3)
    assert cached[0] > cached[2]  # a real model prefers the true answer


def test_export_writes_a_model_folder_from_the_gguf_that_loads_alike(smollm2_gguf, tmp_path, capsys):
    import asyncio

    out = tmp_path / "smol"
    assert main(["models", "export", str(smollm2_gguf), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert "quantization_config" not in (out / "config.json").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".smol.")]  # no staging left
    # the folder scores exactly like the GGUF it came from
    conts = ["Paris.", "London."]
    a = asyncio.run(get_model(f"hf/{smollm2_gguf}").score(MSGS, conts))
    b = asyncio.run(get_model(f"hf/{out}").score(MSGS, conts))
    assert a == pytest.approx(b, abs=1e-4)
    # an existing target is refused, nothing written over
    assert main(["models", "export", str(smollm2_gguf), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


async def test_smollm2_loads_from_a_laid_out_hub_cache(smollm2_gguf, tmp_path, monkeypatch):
    """A hub repo that holds only a GGUF (as many do) resolves through the cache to that file."""
    sha = "fedcba9876543210fedcba9876543210fedcba98"
    repo = tmp_path / "hub" / "models--HuggingFaceTB--SmolLM2-135M-Instruct-GGUF"
    snap = repo / "snapshots" / sha
    snap.mkdir(parents=True)
    (snap / smollm2_gguf.name).symlink_to(smollm2_gguf)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    source = hf_source.resolve("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF")
    assert source.gguf_file == smollm2_gguf.name and source.folder == snap
    model = get_model("hf/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF")
    assert (await model.score(MSGS, ["Paris."]))[0] < 0


def test_an_architecture_transformers_cannot_load_is_one_line(tiny_model_dir, tmp_path, capsys):
    import json as _json

    odd = tmp_path / "odd"
    shutil.copytree(tiny_model_dir, odd)
    config = _json.loads((odd / "config.json").read_text())
    config["model_type"] = "no-such-architecture"
    config["architectures"] = ["NoSuchForCausalLM"]
    (odd / "config.json").write_text(_json.dumps(config))
    assert main(["ask", "-m", f"hf/{odd}", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "could not be loaded" in err and str(odd) in err
