"""`improv twentyq play|resample|batch` on mock models with --json."""

import json

import pytest

from improv.cli import main


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "questions.txt"
    p.write_text("Is it alive?\nIs it an animal?\nDoes it have fur?\n")
    return p


def run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_play_with_script_questioner_and_reveal_resampling(capsys, data_dir, script):
    data = run_json(capsys, ["twentyq", "play", "-m", "mock/cycle:Yes.|No.", "--questioner", f"script:{script}",
                             "-k", "4", "--secret", "Cats", "--json"])
    t = data["transcript"]
    assert t["kind"] == "twentyq" and t["meta"]["secret"] == "cat" and t["meta"]["condition"] == "committed"
    assert t["meta"]["questions"] == 3
    assert data["analysis"]["sample"]["k"] == 4
    assert data["path"] and (data_dir / "transcripts").is_dir()


def test_play_human_reads_stdin(capsys, data_dir, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Is it alive?\nIs it big?\n\n"))
    data = run_json(capsys, ["twentyq", "play", "-m", "mock/fixed:Yes.", "--json", "--no-save"])
    assert data["transcript"]["meta"]["questions"] == 2 and data["path"] is None


def test_resample_json_and_save(capsys, data_dir, script):
    run_json(capsys, ["twentyq", "play", "-m", "mock/fixed:Yes.", "--questioner", f"script:{script}", "--json"])
    path = next((data_dir / "transcripts").glob("*.json"))
    data = run_json(capsys, ["twentyq", "resample", str(path), "-m", "mock/cycle:It was a cat.|It was a rose.",
                             "--at", "2", "-k", "6", "--flip", "1", "--mass", "--save", "--json"])
    a = data["analysis"]
    assert a["at"] == 2 and a["sample"]["distribution"]["distinct"] == 2
    assert a["sample"]["distribution"]["entropy_bits"] == pytest.approx(1.0)
    # answers yes, yes: cat fits (alive, animal); rose contradicts Q2
    assert a["fits"]["cat"]["consistent"] is True and a["fits"]["rose"]["first_contradiction"] == 2
    assert a["consistency"]["share"] == pytest.approx(0.5)
    assert data["mass_test"]["source"] == "samples" and data["flips"]["k"] == 6
    saved = json.loads(path.read_text())
    assert sum(1 for t in saved["turns"] if t["meta"].get("resampled")) >= 6


def test_resample_text_output_and_errors(capsys, data_dir, script, tmp_path):
    run_json(capsys, ["twentyq", "play", "-m", "mock/fixed:No.", "--questioner", f"script:{script}", "--json"])
    path = next((data_dir / "transcripts").glob("*.json"))
    assert main(["twentyq", "resample", str(path), "-m", "mock/fixed:It was a rock.", "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "entropy 0.00 bits" in out and "rock" in out
    assert main(["twentyq", "resample", str(path), "-m", "mock/fixed:x", "--at", "9"]) == 2
    assert "--at 9" in capsys.readouterr().err
    assert main(["twentyq", "resample", str(path), "-m", "mock/fixed:x", "--exact"]) == 2
    assert "score" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["twentyq", "resample", str(bad)]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_batch_json_and_out(capsys, data_dir, script, tmp_path):
    out = tmp_path / "run"
    data = run_json(capsys, ["twentyq", "batch", "-m", "mock/cycle:Yes.|No.|It was a cat.", "-n", "2", "--turns", "2",
                             "-k", "3", "--questions", str(script), "--out", str(out), "--json"])
    assert data["games_per_condition"] == 2 and data["k"] == 3
    assert [r["at"] for r in data["conditions"]["uncommitted"]["turns"]] == [0, 1, 2]
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["games"]) == 4
    assert len(list((out / "transcripts").glob("*.json"))) == 4


def test_batch_text_and_bad_input(capsys, data_dir, tmp_path):
    assert main(["twentyq", "batch", "-m", "mock/fixed:It was a cat.", "-n", "1", "--turns", "1", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "commitment curve" in out and "uncommitted" in out and "committed" in out
    assert main(["twentyq", "batch", "-m", "mock/fixed:x", "--conditions", "sideways"]) == 2
    assert "--conditions" in capsys.readouterr().err
    assert main(["twentyq", "batch", "-m", "mock/fixed:x", "--questions", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in capsys.readouterr().err
    assert main(["twentyq", "batch", "-m", "mock/fixed:x", "-k", "0"]) == 2
    assert main(["twentyq", "batch", "-m", "mock/fixed:x", "--questioner", "human"]) == 2


def test_batch_with_model_questioner(capsys, data_dir):
    data = run_json(capsys, ["twentyq", "batch", "-m", "mock/fixed:Yes.", "--questioner", "model:mock/fixed:Is it alive?",
                             "-n", "1", "--turns", "2", "-k", "2", "--conditions", "uncommitted", "--json"])
    assert data["questioner"] == "model:mock/fixed:Is it alive?"
    assert list(data["conditions"]) == ["uncommitted"]


def test_batch_everyday_objects_text_says_what_it_fell_back_to(capsys, data_dir):
    assert main(["twentyq", "batch", "-m", "mock/cycle:Is it alive?\nNo.|I think it was a toothbrush.|I give up.",
                 "-n", "1", "--turns", "1", "-k", "4", "--objects", "everyday"]) == 0
    out = capsys.readouterr().out
    assert "objects: everyday (366)" in out and "answers parsed from the text" in out
    assert "note: mock/cycle" in out and "gives no logprobs" in out
    # turn 0: nothing to check is n/a, never 1.00; every share has its n
    assert "n/a (n=0)" in out and "n=" in out
    assert main(["twentyq", "batch", "-m", "mock/fixed:x", "--objects", "/nonexistent/table.yaml"]) == 2
    assert "table.yaml" in capsys.readouterr().err


def test_resample_uses_the_games_own_table(capsys, data_dir, script):
    run_json(capsys, ["twentyq", "play", "-m", "mock/fixed:Absolutely!", "--questioner", f"script:{script}",
                      "--objects", "everyday", "--json"])
    path = next((data_dir / "transcripts").glob("*.json"))
    saved = json.loads(path.read_text())
    assert saved["meta"]["objects"] == "everyday" and saved["meta"]["answer_format"] == "Answer Yes or No."
    questions = [t for t in saved["turns"] if t["meta"].get("kind") == "question" and not t["meta"].get("give_up")]
    assert questions[0]["content"] == "Is it alive? Answer Yes or No." and questions[0]["meta"]["question"] == "Is it alive?"
    answers = [t for t in saved["turns"] if t["meta"].get("kind") == "answer"]
    assert {a["meta"]["label"] for a in answers} == {"yes"} and {a["meta"]["source"] for a in answers} == {"text"}
    data = run_json(capsys, ["twentyq", "resample", str(path), "-m", "mock/cycle:It was a toothbrush.|No.", "-k", "4",
                             "--json"])
    d = data["analysis"]["sample"]["distribution"]
    assert d["counts"] == {"toothbrush": 2} and d["in_table"] == 2 and d["non_reveals"] == 2
    # alive yes, animal yes, fur yes: a toothbrush contradicts question 1
    assert data["analysis"]["fits"]["toothbrush"]["first_contradiction"] == 1


def test_questioner_specs_are_parsed_at_the_edge():
    import argparse

    from improv.agents.errors import ConfigError
    from improv.commands.twentyq import make_questioner

    args = argparse.Namespace(cache=False, max_connections=4)
    with pytest.raises(ConfigError):
        make_questioner("telepathy", args)
    with pytest.raises(ConfigError):
        make_questioner("human", args)
    assert make_questioner("model:mock/echo", args).name == "model:mock/echo"
