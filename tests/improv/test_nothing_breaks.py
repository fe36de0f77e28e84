"""What one command writes never breaks another: introspect's summary stays out of the
transcript folder, and --cache stays under IMPROV_DATA_DIR."""

import json

from improv.cli import main


def test_transcripts_list_and_replay_still_work_after_introspect(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IMPROV_CACHE_DIR", raising=False)
    assert main(["introspect", "-m", "mock/fixed:4", "--tasks", "numbers", "--properties", "is_even", "-n", "2",
                 "--json"]) == 0
    saved = json.loads(capsys.readouterr().out)["transcripts"]
    store = tmp_path / "data" / "transcripts"
    summaries = list((store / "summaries").glob("introspection-*.json"))
    assert len(summaries) == 1
    assert not list(store.glob("introspection-*.json"))
    assert main(["transcripts", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == len(saved) and err == ""
    assert main(["replay", str(store), "--mode", "rescore", "--out", str(tmp_path / "r"), "--json"]) == 0


def test_cache_goes_under_the_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("IMPROV_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert main(["ask", "-m", "mock/echo", "--cache", "hi", "--no-save"]) == 0
    assert list((tmp_path / "data" / "cache" / "responses").rglob("*.json"))
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()
