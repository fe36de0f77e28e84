"""The in-process transformers backend, on a tiny random model saved to a temporary directory
and loaded through ``get_model("hf/<dir>")``, the path a user's model takes."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from improv.agents.agent import Agent
from improv.agents.errors import ConfigError
from improv.agents.providers import hf
from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig, Message
from improv.personas.schema import Persona

MSGS = [
    Message(role="system", content="You are a helpful assistant."),
    Message(role="user", content="Is it an animal?"),
]


def _loaded(path):
    return hf.load(path)


@pytest.fixture
def model(tiny_model_dir):
    return get_model(f"hf/{tiny_model_dir}")


@pytest.fixture
def generate_calls(tiny_model_dir, monkeypatch):
    """Count calls to the shared model's ``generate`` (and record each batch size)."""
    lm = _loaded(tiny_model_dir)
    calls: list[int] = []
    original = lm.model.generate

    def spy(*args, **kwargs):
        calls.append(int(kwargs["input_ids"].shape[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(lm.model, "generate", spy)
    return calls


async def test_n_samples_from_one_generate_call(model, generate_calls):
    completion = await model.generate(MSGS, GenerateConfig(n=6, max_tokens=8, temperature=1.0))
    assert len(completion.choices) == 6
    assert generate_calls == [6]
    # random weights sampled at temperature 1: the samples are not all the same
    assert len({c.text for c in completion.choices}) > 1
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0


async def test_n_samples_of_one_prompt_encode_it_once_with_the_same_results(model, monkeypatch):
    """Seeded n samples with logprobs: the shared prefill gives the plain path's samples and
    log-probs, and it ran (one prefill of the prompt less its last token)."""
    cfg = GenerateConfig(n=4, max_tokens=8, temperature=1.0, seed=5, logprobs=True, top_logprobs=3)
    shared = await model.generate(MSGS, cfg)
    monkeypatch.setattr(type(model.backend), "share_prefill", False)
    plain = await model.generate(MSGS, cfg)
    assert [c.text for c in shared.choices] == [c.text for c in plain.choices]
    assert len({c.text for c in plain.choices}) > 1  # real samples, not one copied
    for a, b in zip(shared.choices, plain.choices):
        assert [t.logprob for t in a.logprobs] == pytest.approx([t.logprob for t in b.logprobs], abs=1e-4)
    monkeypatch.setattr(type(model.backend), "share_prefill", True)
    calls = []
    prefill = type(model.backend)._prefill

    def counted(lm, prefix, rows):
        calls.append((len(prefix), rows))
        return prefill(lm, prefix, rows)

    monkeypatch.setattr(type(model.backend), "_prefill", staticmethod(counted))
    again = await model.generate(MSGS, cfg)
    assert [c.text for c in again.choices] == [c.text for c in plain.choices]
    assert calls == [(len(model.backend._loaded.prompt_ids(MSGS)) - 1, 4)]


async def test_seed_reproducible_and_different_seeds_differ(model):
    cfg = GenerateConfig(n=3, max_tokens=10, temperature=1.0, seed=7)
    a = await model.generate(MSGS, cfg)
    b = await model.generate(MSGS, cfg)
    c = await model.generate(MSGS, cfg.model_copy(update={"seed": 8}))
    assert [x.text for x in a.choices] == [x.text for x in b.choices]
    assert [x.text for x in a.choices] != [x.text for x in c.choices]


async def test_temperature_zero_is_deterministic_and_n_copies_from_one_call(model, generate_calls):
    a = await model.generate(MSGS, GenerateConfig(n=4, max_tokens=10, temperature=0))
    b = await model.generate(MSGS, GenerateConfig(max_tokens=10, temperature=0))
    assert generate_calls == [1, 1]
    assert len(a.choices) == 4
    assert {c.text for c in a.choices} == {b.text}


async def test_logprobs_are_log_probabilities(model, tiny_model_dir):
    cfg = GenerateConfig(max_tokens=6, temperature=1.0, seed=3, logprobs=True, top_logprobs=5)
    choice = (await model.generate(MSGS, cfg)).choices[0]
    assert choice.logprobs is not None and len(choice.logprobs) == 6
    vocab = len(_loaded(tiny_model_dir).tokenizer)
    for tok in choice.logprobs:
        assert tok.logprob <= 0
        assert len(tok.top_logprobs) == 5
        values = [t.logprob for t in tok.top_logprobs]
        assert values == sorted(values, reverse=True)
        assert all(v <= 0 for v in values)
        # top alternatives come from a normalised distribution over the vocabulary
        assert sum(math.exp(v) for v in values) <= 1 + 1e-5
        assert values[0] >= tok.logprob
        assert values[0] >= math.log(1 / vocab) - 1e-6


async def test_logprobs_match_a_forward_pass(model, tiny_model_dir, monkeypatch):
    """Reported logprobs are log_softmax of the raw logits (before temperature)."""
    import torch

    lm = _loaded(tiny_model_dir)
    outputs = []
    original = lm.model.generate

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        outputs.append((kwargs["input_ids"].shape[1], out.sequences))
        return out

    monkeypatch.setattr(lm.model, "generate", spy)
    cfg = GenerateConfig(max_tokens=5, temperature=1.5, seed=11, logprobs=True)
    choice = (await model.generate(MSGS, cfg)).choices[0]
    width, sequences = outputs[0]
    prompt = lm.prompt_ids(MSGS)
    assert sequences[0, :width].tolist() == prompt
    reply = sequences[0, width:].tolist()[: len(choice.logprobs)]
    assert len(reply) == len(choice.logprobs) > 0
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([prompt + reply])).logits[0].log_softmax(-1)
    expected = [float(logits[len(prompt) - 1 + i, t]) for i, t in enumerate(reply)]
    assert [t.logprob for t in choice.logprobs] == pytest.approx(expected, abs=1e-4)
    assert [t.token for t in choice.logprobs] == [lm.tokenizer.decode([t]) for t in reply]


async def test_max_tokens_sets_length(model):
    # seeded samples, so the outcome is fixed; a reply cut at max_tokens says "length" and has
    # exactly max_tokens tokens, one that ended earlier says "stop" and has fewer
    reasons = set()
    for seed in range(1, 7):
        completion = await model.generate(MSGS, GenerateConfig(max_tokens=3, temperature=1.0, seed=seed, logprobs=True))
        choice = completion.choices[0]
        reasons.add(choice.finish_reason)
        cut = choice.finish_reason == "length"
        assert (len(choice.logprobs) == 3) == cut and len(choice.logprobs) <= 3
        assert (completion.usage.output_tokens == 3) == cut
    assert "length" in reasons and reasons <= {"length", "stop"}


async def test_stop_strings_trim_and_finish_stop(model):
    base = await model.generate(MSGS, GenerateConfig(max_tokens=24, temperature=1.0, seed=5))
    text = base.text
    assert len(text) > 6
    stop = text[4:6]
    first = text.find(stop)
    stopped = await model.generate(MSGS, GenerateConfig(max_tokens=24, temperature=1.0, seed=5, stop=[stop]))
    assert stopped.text == text[:first]
    assert stopped.choices[0].finish_reason == "stop"


async def test_stream_deltas_join_to_the_reply(model):
    cfg = GenerateConfig(max_tokens=16, temperature=1.0, seed=21)
    full = (await model.generate(MSGS, cfg)).text
    deltas = [d async for d in model.stream(MSGS, cfg)]
    assert len(deltas) >= 1
    assert "".join(deltas) == full
    greedy = GenerateConfig(max_tokens=8, temperature=0)
    assert "".join([d async for d in model.stream(MSGS, greedy)]) == (await model.generate(MSGS, greedy)).text


async def test_stream_honours_stop_and_can_be_abandoned(model):
    cfg = GenerateConfig(max_tokens=24, temperature=1.0, seed=5)
    text = (await model.generate(MSGS, cfg)).text
    stop = text[4:6]
    streamed = "".join([d async for d in model.stream(MSGS, cfg.model_copy(update={"stop": [stop]}))])
    assert streamed == text[: text.find(stop)]
    # leaving a stream early releases the model for the next request
    agen = model.stream(MSGS, GenerateConfig(max_tokens=40, temperature=1.0))
    await agen.__anext__()
    await agen.aclose()
    assert (await model.generate(MSGS, GenerateConfig(max_tokens=2))).choices


def _manual_score(lm, messages, continuation):
    import torch

    prompt = lm.prompt_ids(messages)
    cont = lm.encode(continuation) + [lm.tokenizer.convert_tokens_to_ids("<|im_end|>")]
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([prompt + cont])).logits[0].log_softmax(-1)
    return sum(float(logits[len(prompt) - 1 + i, t]) for i, t in enumerate(cont))


async def test_score_matches_manual_and_encodes_the_prompt_once(model, tiny_model_dir, monkeypatch):
    lm = _loaded(tiny_model_dir)
    conts = ["It was a cat.", "It was a cat in a hat.", "Yes", "No"]
    expected = [_manual_score(lm, MSGS, c) for c in conts]

    calls = []
    original = lm.model.forward

    def spy(*args, **kwargs):
        calls.append(kwargs.get("input_ids", args[0] if args else None).shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(lm.model, "forward", spy)
    scores = await model.score(MSGS, conts)
    prompt_len = len(lm.prompt_ids(MSGS))
    # the prompt runs once, alone; the continuations run on its cache, never with it again
    assert calls[0] == (1, prompt_len)
    assert sum(c[0] for c in calls[1:]) == len(conts)
    assert all(c[1] < prompt_len for c in calls[1:])
    assert scores == pytest.approx(expected, abs=1e-3)
    assert all(s < 0 for s in scores)
    # the end-of-turn token is scored, so a prefix reply is a different continuation
    assert scores[0] != pytest.approx(scores[1])
    # ranking is consistent whatever the order or company of the continuations
    again = await model.score(MSGS, list(reversed(conts)))
    assert list(reversed(again)) == pytest.approx(scores, abs=1e-3)
    pair = await model.score(MSGS, conts[2:])
    assert (pair[0] > pair[1]) == (scores[2] > scores[3])
    assert await model.score(MSGS, []) == []


async def test_cached_scoring_equals_full_logit_scoring_in_any_chunking(model, tiny_model_dir):
    from improv.agents.providers import hf_scoring

    lm = _loaded(tiny_model_dir)
    conts = ["It was a cat.", "No", "It was a cat in a hat, you see.", "Yes.", "", "a"]
    full = await model.backend.score_full_logits(MSGS, conts)
    assert await model.score(MSGS, conts) == pytest.approx(full, abs=1e-4)
    prompt = lm.prompt_ids(MSGS)
    ids = [lm.encode(c) + [lm.end_of_turn_id] for c in conts]
    import torch

    with torch.inference_mode():
        for budget in (1, 50_000, 10**9):  # one per chunk, a few per chunk, all in one
            got = hf_scoring.score_cached(lm.model, torch, prompt, ids, lm.pad_id, budget_bytes=budget)
            assert got == pytest.approx(full, abs=1e-4)


async def test_score_uses_the_templates_end_of_turn(tiny_model_dir, tmp_path):
    from tests.tiny_model import build_tiny_model

    lm = _loaded(tiny_model_dir)
    assert lm.end_of_turn_id == lm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    # a base-style tokenizer whose EOS is not the template's end of turn
    other = build_tiny_model(tmp_path / "eos", eos="<|endoftext|>")
    model = get_model(f"hf/{other}")
    await model.score(MSGS, ["x"])
    lm2 = _loaded(other)
    im_end = lm2.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert lm2.tokenizer.eos_token_id != im_end
    assert lm2.end_of_turn_id == im_end
    assert im_end in lm2.eos_ids and lm2.tokenizer.eos_token_id in lm2.eos_ids


async def test_hidden_states_shape_and_layers(model, tiny_model_dir):
    lm = _loaded(tiny_model_dir)
    n_layers = lm.model.config.num_hidden_layers
    hidden = lm.model.config.hidden_size
    states = await model.hidden_states(MSGS)
    assert isinstance(states, np.ndarray)
    assert states.shape == (n_layers + 1, hidden)
    picked = await model.hidden_states(MSGS, layers=[0, -1])
    assert picked.shape == (2, hidden)
    np.testing.assert_allclose(picked[0], states[0], atol=1e-5)
    np.testing.assert_allclose(picked[1], states[-1], atol=1e-5)
    with_reply = await model.hidden_states(MSGS, reply="It was a cat.")
    assert with_reply.shape == states.shape
    assert not np.allclose(with_reply[-1], states[-1])
    with pytest.raises(ConfigError, match="layer 99"):
        await model.hidden_states(MSGS, layers=[99])


async def test_models_on_one_dir_share_one_load(tiny_model_dir):
    a, b = get_model(f"hf/{tiny_model_dir}"), get_model(f"hf/{tiny_model_dir}/")
    await a.generate(MSGS, GenerateConfig(max_tokens=1))
    await b.generate(MSGS, GenerateConfig(max_tokens=1))
    assert a.backend._loaded is b.backend._loaded


async def test_gpt2_architecture_works(tiny_gpt2_dir):
    model = get_model(f"hf/{tiny_gpt2_dir}")
    completion = await model.generate(MSGS, GenerateConfig(n=3, max_tokens=4, temperature=1.0, seed=0))
    assert len(completion.choices) == 3
    assert len(await model.score(MSGS, ["a", "b"])) == 2


def test_bad_dir_is_exit_2_one_line(tmp_path, capsys):
    from improv.cli import main

    assert main(["ask", "-m", "hf/nope", "--no-save", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err and "Traceback" not in err


def test_missing_weights_and_config_are_config_errors(tmp_path, tiny_model_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="config.json"):
        get_model(f"hf/{empty}")
    (empty / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    with pytest.raises(ConfigError, match=f"weights are missing at {empty}"):
        get_model(f"hf/{empty}")


async def test_tokenizer_without_chat_template_is_refused(tiny_no_template_dir):
    model = get_model(f"hf/{tiny_no_template_dir}")
    with pytest.raises(ConfigError, match="no chat template"):
        await model.generate(MSGS, GenerateConfig(max_tokens=1))


async def test_agent_with_a_system_persona_uses_the_chat_template(model, tiny_model_dir, generate_calls):
    persona = Persona(name="tester", system_prompt="You are {who}.", variables={"who": "a cat"})
    agent = Agent(model, persona, GenerateConfig(max_tokens=4, temperature=0))
    history = [Message(role="user", content="Who are you?")]
    messages = agent.messages(history)
    lm = _loaded(tiny_model_dir)
    rendered = lm.render(messages)
    assert rendered.startswith("<|im_start|>system\nYou are a cat.<|im_end|>\n")
    assert rendered.endswith("<|im_start|>assistant\n")
    reply = await agent.respond(history)
    assert reply.text == (await model.generate(messages, GenerateConfig(max_tokens=4, temperature=0))).text
    assert generate_calls == [1, 1]


async def test_concurrent_requests_are_batched(model, generate_calls):
    cfg = GenerateConfig(max_tokens=6, temperature=0.8)
    prompts = [[Message(role="user", content=f"Question number {i}?" + " more" * i)] for i in range(12)]
    results = await asyncio.gather(*[model.generate(p, cfg) for p in prompts])
    assert all(len(r.choices) == 1 for r in results)
    assert sum(generate_calls) == 12
    assert len(generate_calls) < 12  # merged into batched calls
    assert max(generate_calls) > 1


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
async def test_batched_greedy_matches_unbatched(arch, tiny_model_dir, tiny_gpt2_dir):
    """Left padding in merged batches does not change what each prompt gets."""
    model = get_model(f"hf/{tiny_model_dir if arch == 'llama' else tiny_gpt2_dir}")
    cfg = GenerateConfig(max_tokens=6, temperature=0, logprobs=True)
    prompts = [[Message(role="user", content="hi" + " there" * i)] for i in range(4)]
    alone = [(await model.generate(p, cfg)).choices[0] for p in prompts]
    merged = [c.choices[0] for c in await asyncio.gather(*[model.generate(p, cfg) for p in prompts])]
    assert [m.text for m in merged] == [a.text for a in alone]
    # the logprobs depend on every position, so padding or position errors would show here
    for m, a in zip(merged, alone):
        assert [t.logprob for t in m.logprobs] == pytest.approx([t.logprob for t in a.logprobs], abs=1e-4)
    assert len({a.logprobs[0].logprob for a in alone}) == len(alone)


async def test_incompatible_and_seeded_requests_are_not_merged(model, generate_calls):
    a = GenerateConfig(max_tokens=4, temperature=0.5)
    b = GenerateConfig(max_tokens=5, temperature=0.5)
    seeded = GenerateConfig(max_tokens=4, temperature=0.5, seed=1)
    results = await asyncio.gather(
        model.generate(MSGS, a), model.generate(MSGS, b), model.generate(MSGS, a), model.generate(MSGS, seeded)
    )
    assert len(results) == 4
    assert sorted(generate_calls) == [1, 1, 2]


async def test_batching_off_makes_one_call_per_request(tiny_model_dir, generate_calls):
    from improv.agents.model import Model

    model = Model(hf.HFBackend(tiny_model_dir, batching=False))
    cfg = GenerateConfig(max_tokens=3, temperature=0.8)
    await asyncio.gather(*[model.generate(MSGS, cfg) for _ in range(4)])
    assert generate_calls == [1, 1, 1, 1]


async def test_context_window_caps_max_tokens_and_refuses_overlong_input(model, tiny_model_dir):
    lm = _loaded(tiny_model_dir)
    context = lm.context
    assert context == 512
    base = len(lm.prompt_ids([Message(role="user", content="")]))
    long_msgs = [Message(role="user", content="x" * (context - base - 3))]
    assert len(lm.prompt_ids(long_msgs)) == context - 3
    completion = await model.generate(long_msgs, GenerateConfig(max_tokens=50, temperature=1.0, seed=0, logprobs=True))
    assert len(completion.choices[0].logprobs) <= 3
    too_long = [Message(role="user", content="x" * context)]
    with pytest.raises(ConfigError, match="context of 512 tokens"):
        await model.generate(too_long, GenerateConfig(max_tokens=5))
    with pytest.raises(ConfigError, match="context of 512 tokens"):
        await model.score(too_long, ["a"])
    with pytest.raises(ConfigError, match="context of 512 tokens"):
        await model.hidden_states(too_long)


async def test_merged_requests_keep_their_own_sample_counts(model, generate_calls):
    cfg = GenerateConfig(max_tokens=4, temperature=1.0)
    other = [Message(role="user", content="Something else entirely, please.")]
    a, b = await asyncio.gather(
        model.generate(MSGS, cfg.model_copy(update={"n": 3})), model.generate(other, cfg.model_copy(update={"n": 2}))
    )
    assert generate_calls == [5]
    assert len(a.choices) == 3 and len(b.choices) == 2
    assert a.usage.input_tokens != b.usage.input_tokens  # each request counts its own prompt
    greedy = GenerateConfig(max_tokens=4, temperature=0)
    g1, g2 = await asyncio.gather(
        model.generate(MSGS, greedy.model_copy(update={"n": 4})), model.generate(other, greedy)
    )
    assert generate_calls[1:] == [2]
    assert len(g1.choices) == 4 and len({c.text for c in g1.choices}) == 1 and len(g2.choices) == 1


def test_torch_threads_setting(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("IMPROV_TORCH_THREADS", "many")
        with pytest.raises(ConfigError, match="IMPROV_TORCH_THREADS"):
            hf.import_torch_transformers()
        monkeypatch.setenv("IMPROV_TORCH_THREADS", "0")
        with pytest.raises(ConfigError, match="at least 1"):
            hf.import_torch_transformers()
        monkeypatch.setenv("IMPROV_TORCH_THREADS", "1")
        hf.import_torch_transformers()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


async def test_cancelling_a_stream_stops_generation(model, tiny_model_dir, monkeypatch):
    lm = _loaded(tiny_model_dir)
    monkeypatch.setattr(lm, "eos_ids", [10**9])  # no early end-of-turn: runs to max_tokens
    long_run = GenerateConfig(max_tokens=200, temperature=1.0)
    lengths: list[int] = []
    original = lm.model.generate

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        lengths.append(out.shape[1] - kwargs["input_ids"].shape[1])
        return out

    monkeypatch.setattr(lm.model, "generate", spy)
    got: list[str] = []
    first = asyncio.Event()

    async def consume():
        async for delta in model.stream(MSGS, long_run):
            got.append(delta)
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the generate thread has stopped and released the model
    assert lm.lock.acquire(timeout=5)
    lm.lock.release()
    assert len(got) >= 1
    assert lengths and lengths[0] < 200  # stopped early, not run to max_tokens


async def test_failures_reach_every_waiter(model, tiny_model_dir, monkeypatch):
    lm = _loaded(tiny_model_dir)

    def broken(*args, **kwargs):
        raise RuntimeError("device lost (simulated)")

    monkeypatch.setattr(lm.model, "generate", broken)
    cfg = GenerateConfig(max_tokens=3, temperature=1.0)
    results = await asyncio.gather(*[model.generate(MSGS, cfg) for _ in range(3)], return_exceptions=True)
    assert all(isinstance(r, RuntimeError) and "simulated" in str(r) for r in results)
    with pytest.raises(RuntimeError, match="simulated"):
        async for _ in model.stream(MSGS, cfg):
            pass
    monkeypatch.undo()
    assert len((await model.generate(MSGS, cfg)).choices) == 1


async def test_stream_reports_length_when_cut_and_stop_when_ended(model):
    cut = model.stream(MSGS, GenerateConfig(max_tokens=2, temperature=1.0, seed=1))
    assert [d async for d in cut] is not None and cut.finish_reason == "length"
    assert cut.settings["max_tokens"] == 2 and cut.settings["top_k"] == 0
    done = await model.generate(MSGS, GenerateConfig(max_tokens=2, temperature=1.0, seed=1))
    assert done.choices[0].finish_reason == "length" and done.settings["temperature"] == 1.0
