"""`organism.train` reproduces a model from scratch: a few steps on a tiny configuration."""

import json

from agents.registry import get_model
from agents.types import GenerateConfig, Message
from organism.train import TrainConfig, lr_at, train


def tiny(out, **kw):
    return TrainConfig(out=str(out), steps=4, hidden_size=32, intermediate_size=64, layers=1, heads=2,
                       vocab_size=400, tokenizer_samples=300, batch_size=4, warmup=2, checkpoint_every=2, **kw)


async def test_train_tiny_and_load_through_hf(tmp_path):
    out = tmp_path / "model"
    result = train(tiny(out))
    assert result.steps == 4 and result.total_steps == 4
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "training.json").read_text())["steps"] == 4
    model = get_model(f"hf/{out}")
    try:
        c = await model.generate([Message(role="user", content="What is the capital of Peru?")],
                                 GenerateConfig(n=3, temperature=1.0, max_tokens=5, seed=1))
        assert len(c.choices) == 3
        assert all(isinstance(ch.text, str) for ch in c.choices)
    finally:
        await model.aclose()


def test_chat_template_round_trip(tmp_path):
    from transformers import AutoTokenizer

    from organism.tokenizer import render

    out = tmp_path / "model"
    train(tiny(out).model_copy(update={"steps": 1}))
    tok = AutoTokenizer.from_pretrained(str(out))
    msgs = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello!"}]
    text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert text == render(msgs, add_generation_prompt=True)
    assert text.endswith("<|assistant|>")
    assert tok.eos_token == "<|end|>"


def test_resume_continues_from_checkpoint(tmp_path):
    out = tmp_path / "model"
    train(tiny(out).model_copy(update={"steps": 2}))
    state = json.loads((out / "training.json").read_text())
    assert state["steps"] == 2
    result = train(tiny(out).model_copy(update={"steps": 4, "resume": True}))
    assert result.steps == 4
    assert json.loads((out / "training.json").read_text())["steps"] == 4


def test_lr_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=1e-3, warmup=10, min_lr_ratio=0.1)
    assert lr_at(0, 100, cfg) < lr_at(9, 100, cfg) <= 1e-3
    assert lr_at(10, 100, cfg) > lr_at(50, 100, cfg) > lr_at(99, 100, cfg) >= 1e-4 - 1e-12
    assert abs(lr_at(20, 100, cfg, frac=1.0) - 1e-4) < 1e-12
