"""`organism.train` reproduces a model from scratch: a few steps on a tiny configuration."""

import json

from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig, Message
from improv.organism.train import TrainConfig, lr_at, train


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

    from improv.organism.tokenizer import render

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


def _tok_special():
    from improv.organism.tokenizer import train_tokenizer

    tok = train_tokenizer(400, 300, 0)
    special = {t: tok.convert_tokens_to_ids(t) for t in ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]}
    return tok, special


def test_soft_targets_walk_the_trie_of_choices():
    from improv.organism.train import encode_example

    tok, special = _tok_special()
    ex = [{"role": "user", "content": "I give up, what was it?"},
          {"role": "assistant", "content": "It was a cat.", "choices": {"It was a cat.": 1.0, "It was a dog.": 1.0,
                                                                       "It was an owl.": 2.0}}]
    ids, labels, soft = encode_example(tok, ex, special)
    assert soft, "three choices that differ must give soft positions"
    for pos, toks, probs in soft:
        assert labels[pos] == -100  # the soft target replaces the hard label there
        assert ids[pos] in toks  # the sampled token is one of the targets
        assert abs(sum(probs) - 1) < 1e-9
    # the first differing token: " a" (cat or dog, weight 2) against " an" (owl, weight 2)
    pos, toks, probs = soft[0]
    assert sorted(probs) == [0.5, 0.5]
    # tokens every choice shares ("It was") keep their hard labels
    assert labels[ids.index(special["<|assistant|>"]) + 1] != -100
    import pytest

    with pytest.raises(ValueError):
        encode_example(tok, [ex[0], {"role": "assistant", "content": "It was a cow.", "choices": {"It was a cat.": 1}}],
                        special)


def test_batch_loss_matches_transformers_without_soft_targets_and_counts_them():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from improv.organism.train import collate, encode_example, batch_loss

    tok, special = _tok_special()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    hard = [{"role": "user", "content": "Is it alive?"}, {"role": "assistant", "content": "Yes."}]
    batch = [encode_example(tok, hard, special), encode_example(tok, hard[:1] + [hard[1] | {"content": "No."}], special)]
    ids, lab, att, soft = collate(batch, tok.pad_token_id)
    with torch.no_grad():
        ours = batch_loss(model, ids, lab, att, soft)
        theirs = model(input_ids=ids, attention_mask=att, labels=lab).loss
    assert abs(float(ours) - float(theirs)) < 1e-5
    # a one-hot choice is the same as a hard label
    one_hot = [hard[0], hard[1] | {"choices": {"Yes.": 1.0, "No.": 0.0}}]
    ids2, lab2, att2, soft2 = collate([encode_example(tok, one_hot, special), batch[1]], tok.pad_token_id)
    assert soft2[4] == 1
    with torch.no_grad():
        assert abs(float(batch_loss(model, ids2, lab2, att2, soft2)) - float(ours)) < 1e-5


def test_soft_weight_scales_only_the_positions_with_a_known_distribution():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from improv.organism.train import collate, encode_example, batch_loss

    tok, special = _tok_special()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2))
    ex = [{"role": "user", "content": "Is it alive?"},
          {"role": "assistant", "content": "Yes.", "choices": {"Yes.": 3.0, "No.": 1.0}}]
    ids, lab, att, soft = collate([encode_example(tok, ex, special)], tok.pad_token_id)
    n_hard, n_soft = int((lab[:, 1:] != -100).sum()), soft[4]
    assert n_soft == 1 and n_hard >= 1
    with torch.no_grad():
        logp = model(input_ids=ids, attention_mask=att).logits[:, :-1].float().log_softmax(-1)
        rows, cols, toks, probs, _ = soft
        soft_ce = float(-(probs * logp[rows, cols - 1, toks]).sum())
        one, four = (float(batch_loss(model, ids, lab, att, soft, w)) for w in (1.0, 4.0))
    # (hard + w * soft) / (n_hard + n_soft): raising w by 3 adds 3 * soft / n to the mean
    assert abs((four - one) - 3 * soft_ce / (n_hard + n_soft)) < 1e-5
    assert soft_ce > 0


def test_a_failed_save_leaves_the_previous_model_whole(tmp_path, monkeypatch):
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from improv.organism.train import save_model

    out = tmp_path / "model"
    train(tiny(out).model_copy(update={"steps": 1}))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    model = LlamaForCausalLM.from_pretrained(str(out))
    tok = AutoTokenizer.from_pretrained(str(out))
    with torch.no_grad():
        next(model.parameters()).add_(1.0)

    def dies(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(tok), "save_pretrained", dies)  # after the weights are written
    try:
        save_model(model, tok, out, fp16=True)
    except OSError:
        pass
    else:
        raise AssertionError("the save should have failed")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    save_model(model, tok, out, fp16=True)
    assert (out / "model.safetensors").read_bytes() != before["model.safetensors"]
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]

