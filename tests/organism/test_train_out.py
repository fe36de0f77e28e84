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
