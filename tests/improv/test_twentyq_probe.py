"""`improv twentyq probe` (improv.commands.twentyq_probe) on the built-in model with a handful of
games, driven through its add_arguments/run, and through `improv twentyq probe` itself for its one-line
refusals (the real CLI error path)."""

from __future__ import annotations

import argparse
import json

from improv.commands import twentyq_probe


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="improv twentyq probe")
    twentyq_probe.add_arguments(parser)
    return parser.parse_args(list(argv))


TINY = ("--train", "5", "--val", "3", "--test", "3", "--uncommitted", "3", "--turns", "2", "--candidates", "5")


def test_probe_json_on_the_builtin_model(capsys, tmp_path):
    out = tmp_path / "report.json"
    assert twentyq_probe.run(_args("-m", "organism", *TINY, "--json", "--out", str(out))) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "organism" and len(data["candidates"]) == 5 and data["chance"] == 0.2
    assert data["rows"] == 5 and data["hidden"] == 256  # 4 layers + embeddings, 256 wide
    assert 0 <= data["layer"] < data["rows"] and len(data["layers"]) == data["rows"]
    c = data["committed"]
    assert c["games"] == 3 and len(c["turns"]) == 3  # Q1, Q2 and the reveal prompt
    assert c["turns"][0]["probe"]["n"] == 3 and c["turns"][0]["answers_only"]["n"] == 3
    assert len(c["by_layer"]) == data["rows"] * 3 and len(c["lens_by_layer"]) == data["rows"] * 3
    u = data["uncommitted"]
    assert u["games"] + sum(u["excluded"].values()) == 3
    assert data["lens"]["collisions"] == 0 and set(data["lens"]["tokens"]) == set(data["candidates"])
    assert json.loads(out.read_text())["games"][0]["split"] == "train"


def test_probe_text_report(capsys):
    assert twentyq_probe.run(_args("-m", "organism", *TINY, "--no-lens")) == 0
    text = capsys.readouterr().out
    assert "layer chosen on validation" in text and "committed: probe accuracy by layer" in text
    assert "predicting the secret" in text and "predicting the later reveal" in text
    assert "lens top-1" not in text and "logit lens" not in text  # --no-lens


def test_a_model_without_hidden_states_is_one_line_exit_2(capsys, clean_env):
    from improv import cli

    assert cli.main(["twentyq", "probe", "-m", "mock/echo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "mock/echo" in err and "hidden states" in err


def test_bad_setting_is_one_line_exit_2(capsys, clean_env):
    from improv import cli

    assert cli.main(["twentyq", "probe", "--train", "0"]) == 2
    assert "--train" in capsys.readouterr().err


def test_exact_reveal_target(capsys):
    assert twentyq_probe.run(_args("-m", "organism", *TINY, "--no-lens", "--reveal", "exact", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    u = data["uncommitted"]
    assert u["target"] == "exact-posterior top at the end" and u["games"] == 3 and u["excluded"] == {}
