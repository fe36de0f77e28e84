"""`improv organism train` never writes over the shipped weights unless told to (no training
runs here: `train` is replaced by a recorder)."""

import json

import pytest

import improv.organism.manifest as manifest_module
import improv.organism.train as tr
from improv.agents.errors import ConfigError
from improv.cli import main
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


def test_default_out_is_a_new_folder_under_the_data_dir(recorded, tmp_path, capsys):
    assert main(["organism", "train", "--steps", "1", "--json"]) == 0
    cfg = recorded["train"][0]
    assert cfg.out.startswith(str(tmp_path / "data" / "organism" / "train-")) and not cfg.overwrite_shipped
    assert json.loads(capsys.readouterr().out)["out"] == cfg.out
    assert recorded["manifest"] == 0  # the manifest describes the shipped model only


def test_the_shipped_folder_needs_overwrite_shipped(recorded, capsys):
    assert main(["organism", "train", "--steps", "1", "--out", str(MODEL_DIR)]) == 2
    assert "--overwrite-shipped" in capsys.readouterr().err and recorded["train"] == []
    assert main(["organism", "train", "--steps", "1", "--out", str(MODEL_DIR / "." ), "--overwrite-shipped",
                 "--json"]) == 0
    assert recorded["train"][0].overwrite_shipped and recorded["manifest"] == 1


def test_resume_needs_out(recorded, capsys):
    assert main(["organism", "train", "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_library_refuses_the_shipped_folder_before_writing():
    before = {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()}
    with pytest.raises(ConfigError, match="is the shipped model"):
        tr.train(tr.TrainConfig(out=str(MODEL_DIR), steps=1))
    assert {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()} == before
    assert tr.TrainConfig().out != str(MODEL_DIR)
