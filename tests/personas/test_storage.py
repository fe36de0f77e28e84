"""Where improv keeps its files, and the one atomic write."""

from __future__ import annotations

import pytest

from improv.personas.storage import atomic_write, data_dir


def test_data_dir_follows_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    from improv.personas.library import user_dir
    from improv.transcripts.store import default_dir, replays_dir

    assert (default_dir(), replays_dir(), user_dir()) == (tmp_path / "transcripts", tmp_path / "replays",
                                                          tmp_path / "personas")


def test_atomic_write_replaces_whole_and_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "a" / "f.json"
    atomic_write(target, "one")
    atomic_write(target, "two", durable=False)
    assert target.read_text() == "two"
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "bad \ud800")
    assert target.read_text() == "two" and sorted(p.name for p in target.parent.iterdir()) == ["f.json"]
