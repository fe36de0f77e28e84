"""`improv organism train` never writes over the shipped weights unless told to (no training
runs here: `train` is replaced by a recorder)."""


import pytest

import improv.organism.manifest as manifest_module
import improv.organism.train as tr
from improv.agents.errors import ConfigError
from improv.organism.paths import MODEL_DIR


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    calls = {"train": [], "manifest": 0}

    def fake_train(cfg, on_step=None):
        calls["train"].append(cfg)
        return tr.TrainResult(out=cfg.out, steps=1, total_steps=1, final_loss=1.0, elapsed=0.0, parameters=1,
                              tokens=1, stopped_early=False)

    def fake_manifest(*a, **kw):
        calls["manifest"] += 1

    monkeypatch.setattr(tr, "train", fake_train)
    monkeypatch.setattr(manifest_module, "write_manifest", fake_manifest)
    return calls


def test_library_refuses_the_shipped_folder_before_writing():
    before = {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()}
    with pytest.raises(ConfigError, match="is the shipped model"):
        tr.train(tr.TrainConfig(out=str(MODEL_DIR), steps=1))
    assert {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()} == before
    assert tr.TrainConfig().out != str(MODEL_DIR)


def test_the_default_run_is_the_shipped_recipe_and_options_make_a_custom_one(recorded, tmp_path, capsys):
    from improv.cli import main
    from improv.organism.recipe import SHIPPED

    assert main(["organism", "train", "--json"]) == 0
    cfg = recorded["train"][-1]
    assert cfg.recipe == SHIPPED and cfg.steps is None and cfg.minutes is None and cfg.corpus_mix is None
    assert cfg.command.startswith("improv organism train --out ")
    # --resume with no schedule: the checkpoint's own (train() reads it); with one: a custom continuation
    assert main(["organism", "train", "--resume", "--out", str(tmp_path / "run"), "--json"]) == 0
    cfg = recorded["train"][-1]
    assert cfg.resume and cfg.recipe is None and not cfg.custom()
    assert main(["organism", "train", "--mix", "fact=1", "--json"]) == 0
    cfg = recorded["train"][-1]
    assert cfg.recipe is None and cfg.minutes == 60.0 and cfg.corpus_mix == {"fact": 1.0} and cfg.soft_weight == 1.0
    assert main(["organism", "train", "--recipe-steps", "10", "--json"]) == 0
    assert recorded["train"][-1].recipe == SHIPPED.scaled(10)
    assert main(["organism", "train", "--recipe-steps", "4"]) == 2
    assert "--recipe-steps" in capsys.readouterr().err
