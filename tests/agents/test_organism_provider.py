"""The ``organism`` provider: the built-in model located in the organism package and loaded
through the hf code path. Tests point it at a tiny model; they never depend on whether the
real weights exist."""

from __future__ import annotations

import sys

import pytest

from improv.agents.errors import ConfigError
from improv.agents.providers import organism
from improv.agents.providers.hf import HFBackend
from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig, Message

MSGS = [Message(role="user", content="Is it bigger than a bread box?")]


def test_default_dir_is_found_without_importing_the_package(monkeypatch):
    monkeypatch.delitem(sys.modules, "organism", raising=False)
    path = organism.default_model_dir()
    assert path.name == "model"
    assert (path.parent / "__init__.py").is_file()
    assert "organism" not in sys.modules


def test_missing_default_weights_message(monkeypatch, tmp_path):
    missing = tmp_path / "organism" / "model"
    monkeypatch.setattr(organism, "default_model_dir", lambda: missing)
    with pytest.raises(ConfigError) as info:
        get_model("organism")
    assert str(info.value) == (
        f"the built-in model's weights are missing at {missing}; run `improv organism train`"
    )
    missing.mkdir(parents=True)
    (missing / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="run `improv organism train`"):
        get_model(None)


def test_missing_default_weights_is_exit_2(monkeypatch, tmp_path, capsys):
    from improv.cli import main

    monkeypatch.setattr(organism, "default_model_dir", lambda: tmp_path / "nothing")
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    assert main(["ask", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err
    assert "weights are missing" in err and "Traceback" not in err


async def test_default_loads_through_the_hf_path(monkeypatch, tiny_model_dir):
    monkeypatch.setattr(organism, "default_model_dir", lambda: tiny_model_dir)
    model = get_model("organism")
    assert isinstance(model.backend, HFBackend)
    assert model.name == "organism"
    assert model.capabilities.score and model.capabilities.hidden_states and model.capabilities.native_n
    completion = await model.generate(MSGS, GenerateConfig(n=3, max_tokens=4, temperature=1.0, seed=2))
    assert completion.model == "organism" and len(completion.choices) == 3
    hf_model = get_model(f"hf/{tiny_model_dir}")
    same = await hf_model.generate(MSGS, GenerateConfig(n=3, max_tokens=4, temperature=1.0, seed=2))
    assert [c.text for c in completion.choices] == [c.text for c in same.choices]
    assert model.backend._loaded is hf_model.backend._loaded  # one load per directory


async def test_rest_path_names_another_checkpoint(tiny_model_dir):
    model = get_model(f"organism/{tiny_model_dir}")
    assert model.name == f"organism/{tiny_model_dir}"
    scores = await model.score(MSGS, ["Yes.", "No."])
    assert len(scores) == 2 and all(s < 0 for s in scores)


def test_rest_path_missing_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match=str(tmp_path / "ckpt")):
        get_model(f"organism/{tmp_path / 'ckpt'}")
