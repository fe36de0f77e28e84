"""The shipped recipe through the real trainer, scaled down to a few dozen steps on a tiny model:
every stage switch, a Ctrl-C mid-stage and a resume that continues in the right stage with its
optimizer state (the resumed run ends with the same weights as an uninterrupted one)."""

import json
import os
import signal

import pytest

import improv.organism.train as tr
from improv.agents.errors import ConfigError
from improv.cli import main
from improv.organism.recipe import SHIPPED

TINY = dict(hidden_size=32, intermediate_size=64, layers=1, heads=2, vocab_size=400, tokenizer_samples=200,
            batch_size=2, checkpoint_every=1000, threads=1)
STEPS = 24


def _weights(out):
    from safetensors.torch import load_file

    return load_file(str(out / "checkpoint" / "model.safetensors"))


def _interrupt_at(n):
    """An on_step that records (step, stage, lr) and sends this process a Ctrl-C after step n."""
    seen = []

    def cb(info):
        seen.append((info.step, info.stage, info.lr, info.total))
        if info.step == n:
            os.kill(os.getpid(), signal.SIGINT)

    return seen, cb


def test_scaled_recipe_switches_every_stage_and_resumes_mid_stage(tmp_path):
    import torch

    recipe = SHIPPED.scaled(STEPS)
    whole, cb = _interrupt_at(None)
    straight = tr.train(tr.TrainConfig(out=str(tmp_path / "a"), recipe=recipe, **TINY), cb)
    assert straight.steps == STEPS == straight.total_steps and straight.recipe == "shipped@24"
    assert straight.stage == "uncommitted" and not straight.interrupted
    # each step was trained by the stage of its index, at the recipe's lr
    assert [(s, st, total) for s, st, _, total in whole] == [(i + 1, recipe.stage_at(i).name, STEPS) for i in range(STEPS)]
    assert all(lr == pytest.approx(recipe.lr_at(s - 1)) for s, _, lr, _ in whole)
    assert [st.name for st in recipe.stages] == list(dict.fromkeys(st for _, st, _, _ in whole))

    out = tmp_path / "b"
    stop = recipe.stages[2].start + 2  # mid "reveal", and mid-chunk (the batches are regenerated)
    assert recipe.stage_at(stop).name == "reveal" and stop % tr.CHUNK
    first, cb = _interrupt_at(stop)
    with pytest.raises(tr.TrainingInterrupted) as caught:
        tr.train(tr.TrainConfig(out=str(out), recipe=recipe, **TINY), cb)
    assert caught.value.result.interrupted and caught.value.result.steps == stop
    assert caught.value.result.stage == "reveal"
    assert torch.load(out / "checkpoint" / "state.pt", weights_only=False)["step"] == stop
    mid = json.loads((out / "training.json").read_text())
    assert mid["steps"] == stop and mid["recipe"]["name"] == "shipped@24"

    # resumed with no schedule of its own: the checkpoint's recipe, from the stage of its step
    rest, cb = _interrupt_at(None)
    resumed = tr.train(tr.TrainConfig(out=str(out), resume=True, **TINY), cb)
    assert resumed.steps == STEPS and resumed.recipe == "shipped@24"
    assert [(s, st, lr) for s, st, lr, _ in first + rest] == [(s, st, lr) for s, st, lr, _ in whole]
    a, b = _weights(tmp_path / "a"), _weights(out)
    assert a.keys() == b.keys()
    for name in a:  # same data, same optimizer state: the same model as without the interruption
        assert torch.allclose(a[name], b[name], atol=1e-6), name

    record = json.loads((out / "training.json").read_text())
    assert record["steps"] == STEPS and record["total_steps"] == STEPS
    assert [s["name"] for s in record["recipe"]["stages"]] == ["first", "default", "reveal", "anneal", "uncommitted"]
    assert record["recipe"]["stages"][2]["soft_weight"] == 10.0
    assert [(h["started_at_step"], h["stopped_at_step"]) for h in record["history"]] == [(0, stop), (stop, STEPS)]
    assert all(h["schedule"] == "recipe shipped@24" for h in record["history"])
    assert not (out / "checkpoint.old").exists() and not list(out.glob(".checkpoint.*"))

    # a finished run resumed again does nothing more; a fresh run into its folder is refused
    assert tr.train(tr.TrainConfig(out=str(out), resume=True, **TINY)).steps == STEPS
    with pytest.raises(ConfigError, match="already holds a training run"):
        tr.train(tr.TrainConfig(out=str(out), recipe=recipe, **TINY))


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no checkpoint to resume"):
        tr.train(tr.TrainConfig(out=str(tmp_path / "none"), resume=True, **TINY))


def test_a_recipe_excludes_a_custom_schedule(tmp_path):
    with pytest.raises(ConfigError, match="custom run"):
        tr.train(tr.TrainConfig(out=str(tmp_path / "x"), recipe=SHIPPED.scaled(5), steps=3, **TINY))


@pytest.fixture
def tiny_cli(monkeypatch):
    orig = tr.TrainConfig

    def patched(**kw):
        return orig(**{**kw, **{k: v for k, v in TINY.items() if k not in ("batch_size", "threads")}})

    monkeypatch.setattr(tr, "TrainConfig", patched)


def test_cli_default_is_the_recipe_interrupted_and_resumed(tiny_cli, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    calls = [0]
    real_loss = tr.batch_loss

    def loss_then_ctrl_c(*a, **kw):  # Ctrl-C during the 7th step
        calls[0] += 1
        if calls[0] == 7:
            os.kill(os.getpid(), signal.SIGINT)
        return real_loss(*a, **kw)

    monkeypatch.setattr(tr, "batch_loss", loss_then_ctrl_c)
    assert main(["organism", "train", "--recipe-steps", "12", "--batch-size", "2", "--out", str(out), "--json"]) == 130
    captured = capsys.readouterr()
    first = json.loads(captured.out)
    assert first["interrupted"] and first["steps"] == 7 and first["recipe"] == "shipped@12"
    assert f"improv organism train --resume --out {out}" in captured.err
    monkeypatch.setattr(tr, "batch_loss", real_loss)
    assert main(["organism", "train", "--resume", "--out", str(out), "--batch-size", "2", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["steps"] == done["total_steps"] == 12 and done["recipe"] == "shipped@12"
    assert done["stage"] == "uncommitted" and not done["interrupted"]
    history = json.loads((out / "training.json").read_text())["history"]
    assert [h["stopped_at_step"] for h in history] == [7, 12]
    assert "--recipe-steps 12" in history[0]["command"] and "--resume" in history[1]["command"]
    assert main(["organism", "info", "--dir", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["training"]["recipe"] == "shipped@12"


def test_cli_custom_options_are_a_custom_run(tiny_cli, tmp_path, capsys):
    out = tmp_path / "custom"
    assert main(["organism", "train", "--steps", "3", "--batch-size", "2", "--soft-weight", "10", "--out", str(out),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["recipe"] is None and result["steps"] == 3
    record = json.loads((out / "training.json").read_text())
    assert record["recipe"] is None and record["config"]["soft_weight"] == 10.0
    assert main(["organism", "train", "--recipe-steps", "12", "--steps", "3"]) == 2
    assert "--recipe-steps" in capsys.readouterr().err
