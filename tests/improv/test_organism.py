"""`improv organism info|check|train` argument handling and output."""

import json

from improv.cli import main
from improv.organism.paths import MODEL_DIR
from tests.organism.test_train_out import recorded  # noqa: F401  (a fixture)


def test_info_json(capsys):
    assert main(["organism", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "LlamaForCausalLM"
    assert info["files"]["model.safetensors"] <= 25_000_000
    assert info["parameters"] > 1_000_000


def test_info_missing_dir_is_one_line_error(tmp_path, capsys):
    assert main(["organism", "info", "--dir", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_bad_numbers_exit_2(capsys):
    assert main(["organism", "check", "--samples", "1"]) == 2
    assert main(["organism", "train", "--steps", "0"]) == 2
    assert main(["organism", "train", "--minutes", "-1"]) == 2
    assert main(["organism", "train", "--steps", "1", "--soft-weight", "0"]) == 2
    for bad in ("fact", "facts=1", "fact=x", "fact=-1", "fact=0"):
        assert main(["organism", "train", "--steps", "1", "--mix", bad]) == 2
        err = capsys.readouterr().err
        assert "--mix" in err and "Traceback" not in err


def test_train_cli_tiny_steps(tmp_path, capsys, monkeypatch):
    import improv.organism.train as tr

    small = dict(hidden_size=32, intermediate_size=64, layers=1, heads=2, vocab_size=400, tokenizer_samples=200, checkpoint_every=10)
    orig = tr.TrainConfig

    def patched(**kw):
        return orig(**{**kw, **small})

    monkeypatch.setattr(tr, "TrainConfig", patched)
    out = tmp_path / "m"
    assert main(["organism", "train", "--steps", "2", "--batch-size", "2", "--out", str(out), "--json",
                 "--mix", "fact=0.5,tq_committed=0.5", "--soft-weight", "10"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 2 and (out / "model.safetensors").exists()
    config = json.loads((out / "training.json").read_text())["config"]
    assert config["corpus_mix"] == {"fact": 0.5, "tq_committed": 0.5}
    assert config["soft_weight"] == 10.0

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
