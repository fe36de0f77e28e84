"""The real-vLLM tier: improv against a real vLLM server (CPU build) serving SmolLM2-135M-Instruct.

Marked ``vllm``: deselected from the default run (the server takes minutes to start and ~5 GiB),
run by ``.ci/run`` as its own step (``pytest -m vllm``). The server comes from `tests.servers.vllm`.
"""

from __future__ import annotations

import json
import os

import pytest

from improv.agents import GenerateConfig, Message, get_model
from improv.agents.errors import ProviderConfigError
from improv.cli import main
from tests.servers.vllm import VLLMServer

pytestmark = pytest.mark.vllm

Q = [Message(role="user", content="What is the capital of France?")]


@pytest.fixture(scope="module")
def vllm_url(smollm2_gguf):
    """The server's base URL; ``$IMPROV_VLLM_URL`` reuses one already serving SmolLM2 as
    ``smollm2`` (while developing), else the tier starts its own."""
    if os.environ.get("IMPROV_VLLM_URL"):
        yield os.environ["IMPROV_VLLM_URL"]
        return
    with VLLMServer(smollm2_gguf) as base:
        yield base


@pytest.fixture
def vllm(vllm_url, monkeypatch):
    monkeypatch.setenv("VLLM_BASE_URL", vllm_url)
    monkeypatch.setenv("IMPROV_TIMEOUT", "300")
    return get_model("vllm/smollm2")


async def test_n_seed_and_settings(vllm):
    a = await vllm.generate(Q, GenerateConfig(n=4, seed=3, temperature=1.0, max_tokens=12))
    b = await vllm.generate(Q, GenerateConfig(n=4, seed=3, temperature=1.0, max_tokens=12))
    assert len(a.choices) == 4 and [c.text for c in a.choices] == [c.text for c in b.choices]
    assert len({c.text for c in a.choices}) > 1  # real sampling, native n
    assert a.settings["top_k"] == -1 and a.settings["repetition_penalty"] == 1.0 and a.settings["n"] == 4


async def test_greedy_n_is_allowed(vllm):
    out = await vllm.generate(Q, GenerateConfig(n=5, temperature=0, max_tokens=8))
    assert len(out.choices) == 5 and len({c.text for c in out.choices}) == 1


async def test_logprobs_are_the_models_own(vllm):
    out = await vllm.generate(Q, GenerateConfig(logprobs=True, top_logprobs=3, max_tokens=4, temperature=0))
    lps = out.choices[0].logprobs
    assert lps and all(t.logprob <= 0 for t in lps) and len(lps[0].top_logprobs) == 3
    assert lps[0].token == lps[0].top_logprobs[0].token  # greedy takes the top token


async def test_stream_finish_reasons(vllm):
    cut = vllm.stream([Message(role="user", content="Write a long story about the sea.")], GenerateConfig(max_tokens=5))
    assert "".join([d async for d in cut]) and cut.finish_reason == "length"
    # the streamed finish reason is the one the server gives the same request unstreamed
    hi = [Message(role="user", content="Say hi.")]
    cfg = GenerateConfig(max_tokens=60, temperature=0)
    ended = vllm.stream(hi, cfg)
    text = "".join([d async for d in ended])
    whole = await vllm.generate(hi, cfg)
    assert text == whole.text and ended.finish_reason == whole.choices[0].finish_reason


async def test_prompt_over_the_context_is_a_config_error(vllm):
    long = [Message(role="user", content="word " * 3000)]
    with pytest.raises(ProviderConfigError, match="400"):
        await vllm.generate(long, GenerateConfig(max_tokens=4))
    with pytest.raises(ProviderConfigError):
        await vllm.generate(Q, GenerateConfig(max_tokens=100_000))


def test_cli_errors_exit_2_and_chat_recovers(vllm_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VLLM_BASE_URL", vllm_url)
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    assert main(["ask", "-m", "vllm/smollm2", "--no-save", "--max-tokens", "100000", "hi"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    # one over-long message, then a short one: the short one gets a reply
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("word " * 3000 + "\nSay hello.\n"))
    main(["chat", "-m", "vllm/smollm2", "--max-tokens", "8", "--out", str(tmp_path)])
    saved = list(tmp_path.glob("*.json"))
    turns = json.loads(saved[0].read_text())["turns"]
    assert [t["role"] for t in turns].count("assistant") == 1
    assert any(t.get("meta", {}).get("unanswered") for t in turns)


def test_replay_a_persona_chat(vllm_url, monkeypatch, tmp_path, capsys):
    from improv.transcripts import Transcript, Turn, save

    monkeypatch.setenv("VLLM_BASE_URL", vllm_url)
    t = Transcript(title="pirate")
    g = t.add(Turn(role="assistant", content="Ahoy! Ask me anything.", system_prompt="You are a pirate."))
    u = t.add(Turn(parent=g.id, role="user", content="What is the capital of France?"))
    t.add(Turn(parent=u.id, role="assistant", content="Paris, arr!", system_prompt="You are a pirate.",
               config=GenerateConfig(temperature=0.0, max_tokens=10)))
    src = save(t, tmp_path / "in")
    assert main(["replay", str(src), "-m", "vllm/smollm2", "--out", str(tmp_path / "run"), "--json"]) == 0
    record = json.loads((tmp_path / "run" / "results.jsonl").read_text().splitlines()[0])
    assert record["compared"] == 1  # the greeting is context, not a reply to compare


def test_a_twentyq_turn_records_logprobs(vllm_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VLLM_BASE_URL", vllm_url)
    script = tmp_path / "q.txt"
    script.write_text("Is it alive?\n")
    assert main(["twentyq", "play", "-m", "vllm/smollm2", "--questioner", f"script:{script}", "--turns", "1",
                 "--objects", "everyday", "--out", str(tmp_path / "games"), "--json"]) == 0
    game = json.loads(next((tmp_path / "games").rglob("*.json")).read_text())
    answers = [t for t in game["turns"] if t["role"] == "assistant" and t.get("logprobs")]
    assert answers, "the answer turn keeps the logprobs it was made with"


def test_an_introspection_item(vllm_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VLLM_BASE_URL", vllm_url)
    assert main(["introspect", "-m", "vllm/smollm2", "--tasks", "animals", "--properties", "first_character",
                 "-n", "2", "--out", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report


async def test_prompt_logprob_scores_equal_the_in_process_scores(vllm):
    """The same weights (the exported folder the server serves), float32 on both sides: every
    candidate's served log-likelihood within 1e-3 nats of the in-process one."""
    from tests.servers.vllm import home

    folder = home().parent / "smollm2-folder"
    msgs = [Message(role="system", content="We are playing 20 Questions."),
            Message(role="user", content="Is it alive?"), Message(role="assistant", content="No."),
            Message(role="user", content="What was the object you were thinking of?")]
    candidates = ["It was a chair.", "It was a lighthouse.", "It was a toothbrush.", "yes", "no",
                  "I was not thinking of any particular object."]
    served = await vllm.score(msgs, candidates)
    local = await get_model(f"hf/{folder}").score(msgs, candidates)
    gaps = [abs(a - b) for a, b in zip(served, local)]
    assert max(gaps) < 1e-3, (served, local)


def test_twentyq_resample_exact_runs_on_vllm(vllm_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VLLM_BASE_URL", vllm_url)
    monkeypatch.setenv("IMPROV_TIMEOUT", "300")
    script = tmp_path / "q.txt"
    script.write_text("Is it alive?\nIs it bigger than a breadbox?\n")
    assert main(["twentyq", "play", "-m", "vllm/smollm2", "--questioner", f"script:{script}", "--turns", "2",
                 "--objects", "everyday", "--out", str(tmp_path / "games"), "--json"]) == 0
    capsys.readouterr()
    game = next((tmp_path / "games").rglob("*.json"))
    assert main(["twentyq", "resample", str(game), "-m", "vllm/smollm2", "-k", "2", "--exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    posteriors = out["posterior_curve"]["posteriors"]
    assert posteriors and all(abs(sum(p["probabilities"].values()) - 1) < 1e-6 for p in posteriors)
    assert len(posteriors[0]["probabilities"]) > 100  # the everyday table, scored on the server
