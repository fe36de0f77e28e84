"""The same commands against the fake OpenAI and Anthropic servers (real SDKs, real HTTP)."""

import itertools
import json

import pytest

from improv.cli import main
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI


def host_replies():
    reveals = itertools.cycle(["It was a cat.", "It was a dog.", "It was a rose."])

    def reply(messages, body):
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        return next(reveals) if "give up" in text else "Yes."

    return reply


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    return tmp_path


def test_batch_against_fake_openai(capsys, data_dir, monkeypatch, tmp_path):
    with FakeOpenAI(replies=host_replies(), api_key="sk-test") as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        code = main(["twentyq", "batch", "-m", "openai/gpt-fake", "-n", "2", "--turns", "2", "-k", "6",
                     "--out", str(tmp_path / "run"), "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        data = json.loads(out.out)
        chats = srv.requests_to("/chat/completions")
    unc = data["conditions"]["uncommitted"]["turns"]
    assert [r["at"] for r in unc] == [0, 1, 2]
    assert all(r["distinct_mean"] >= 2 for r in unc)  # the fake cycles three reveals
    # K reveals per node are one request with n=K on OpenAI
    assert any((r.json or {}).get("n") == 6 for r in chats)
    # answers asked with logprobs: P(yes) recorded on answer turns
    saved = [json.loads(p.read_text()) for p in (tmp_path / "run" / "transcripts").glob("*.json")]
    answers = [t for s in saved for t in s["turns"] if t["meta"].get("kind") == "answer"]
    assert answers and all(t["meta"]["label"] == "yes" for t in answers)
    assert all(t["meta"]["p_yes"] == pytest.approx(1.0) for t in answers)
    # read from the first token's top_logprobs (20 asked), P(yes), P(no), P(other) recorded
    assert all(t["meta"]["source"] == "logprobs" and set(t["meta"]["answer_dist"]) >= {"p_yes", "p_no", "p_other"}
               for t in answers)
    assert any((r.json or {}).get("top_logprobs") == 20 and (r.json or {}).get("logprobs") for r in chats)
    assert data["answers"] == "logprobs" and data["notes"] == []


def test_play_and_resample_against_fake_anthropic(capsys, data_dir, monkeypatch, tmp_path):
    script = tmp_path / "q.txt"
    script.write_text("Is it alive?\nIs it an animal?\n")
    with FakeAnthropic(replies=host_replies(), api_key="ak-test") as srv:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "ak-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.root_url)
        code = main(["twentyq", "play", "-m", "anthropic/claude-fake", "--questioner", f"script:{script}",
                     "--secret", "cat", "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        path = json.loads(out.out)["path"]
        code = main(["twentyq", "resample", path, "-k", "3", "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        systems = [(r.json or {}).get("system") for r in srv.requests_to("/messages")]
    a = json.loads(out.out)["analysis"]
    assert a["secret"] == "cat" and a["sample"]["k"] == 3
    assert a["remaining"] and "cat" in a["remaining"]
    assert any("cat" in json.dumps(s) for s in systems)  # the committed secret went in the system prompt
