"""`improv ask` end to end: the CLI, the real SDKs, the fake servers."""

import json

import pytest

from improv.cli import main
from tests.fakes.base import Failure

OPENAI_KEY = "sk-cli-openai-SECRET"
ANTHROPIC_KEY = "sk-ant-cli-SECRET"


@pytest.fixture(params=["openai", "anthropic", "ollama", "openai-api"])
def provider(request, clean_env, fake_openai, fake_anthropic):
    """(model string, fake server, key variable) with the environment pointing at the fake."""
    env = clean_env
    if request.param == "openai":
        env.setenv("OPENAI_API_KEY", OPENAI_KEY)
        env.setenv("OPENAI_BASE_URL", fake_openai.base_url)
        return "openai/gpt-fake", fake_openai, "OPENAI_API_KEY"
    if request.param == "anthropic":
        env.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
        env.setenv("ANTHROPIC_BASE_URL", fake_anthropic.root_url)
        return "anthropic/claude-fake", fake_anthropic, "ANTHROPIC_API_KEY"
    env.setenv("OPENAI_API_KEY", OPENAI_KEY)  # set, and must not be sent
    if request.param == "ollama":
        env.setenv("OLLAMA_BASE_URL", fake_openai.base_url)
        return "ollama/llama3.1", fake_openai, "OLLAMA_API_KEY"
    env.setenv("ACME_BASE_URL", fake_openai.base_url)
    env.setenv("ACME_API_KEY", "acme-key")
    return "openai-api/acme/acme-1", fake_openai, "ACME_API_KEY"


def test_n5_prints_five_samples(provider, capsys):
    model, srv, _ = provider
    code = main(["ask", "hello world", "-m", model, "-n", "5"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    lines = out.strip().splitlines()
    assert [line[:4] for line in lines] == ["[1] ", "[2] ", "[3] ", "[4] ", "[5] "]
    assert all("Echo: hello world" in line for line in lines)
    assert len({line[4:] for line in lines}) == 5
    assert all(OPENAI_KEY.encode() not in r.body and OPENAI_KEY not in repr(r.headers)
               for r in srv.requests if not model.startswith("openai/"))


def test_json_prints_a_transcript_with_five_branches(provider, capsys, tmp_path):
    model, srv, _ = provider
    code = main(["ask", "hello world", "-m", model, "-n", "5", "--json", "-p", "assistant"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    (user,) = [t for t in data["turns"] if t["role"] == "user"]
    replies = [t for t in data["turns"] if t["role"] == "assistant"]
    assert len(replies) == 5 and all(t["parent"] == user["id"] for t in replies)
    assert all(t["model"] == model for t in replies)
    assert OPENAI_KEY not in out and ANTHROPIC_KEY not in out
    saved = list((tmp_path / "data").rglob("*.json"))
    assert len(saved) == 1 and OPENAI_KEY not in saved[0].read_text()


def test_retries_ride_out_429_and_500(provider, capsys):
    model, srv, _ = provider
    srv.fail_next([Failure(429, retry_after=0.01), 500])
    code = main(["ask", "again", "-m", model, "--no-save"])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith("Echo: again") and err == ""
    assert len(srv.requests) == 3


def test_401_is_one_line_and_exit_2(provider, capsys):
    model, srv, key_var = provider
    srv.fail_next([401])
    code = main(["ask", "hi", "-m", model, "--no-save"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err == f"improv: error: {model}: authentication failed (401): check {key_var}\n"
    assert len(srv.requests) == 1


def test_400_is_one_line_and_exit_2(provider, capsys):
    model, srv, _ = provider
    srv.fail_next([400])
    code = main(["ask", "hi", "-m", model, "--no-save"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "request refused (400)" in err


@pytest.mark.parametrize("model, var", [
    ("openai/gpt-fake", "OPENAI_API_KEY"),
    ("anthropic/claude-fake", "ANTHROPIC_API_KEY"),
    ("openai-api/acme/acme-1", "ACME_BASE_URL"),
])
def test_missing_setting_is_one_line_naming_it(clean_env, capsys, model, var):
    code = main(["ask", "hi", "-m", model])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1 and var in err


def test_anthropic_refuses_temperature_in_one_line(clean_env, fake_anthropic, capsys):
    clean_env.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    clean_env.setenv("ANTHROPIC_BASE_URL", fake_anthropic.root_url)
    code = main(["ask", "hi", "-m", "anthropic/claude-fake", "-t", "0.5", "--no-save"])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "temperature" in err
    assert fake_anthropic.requests == []
