"""Byte-level BPE tokenizer trained on the corpus, saved as a PreTrainedTokenizerFast with a chat template."""

from __future__ import annotations

from pathlib import Path

SYSTEM, USER, ASSISTANT, END, PAD = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|pad|>"
SPECIAL = [PAD, END, SYSTEM, USER, ASSISTANT]

# Jinja chat template: <|system|>...<|end|><|user|>...<|end|><|assistant|>...<|end|>
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def render(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The chat template in plain Python (identical output)."""
    out = "".join(f"<|{m['role']}|>{m['content']}{END}" for m in messages)
    return out + (ASSISTANT if add_generation_prompt else "")


def corpus_texts(n: int = 20000, seed: int = 0) -> list[str]:
    from improv.organism.corpus import sample

    texts = []
    for _, ex in sample(n, seed):
        texts.extend(m["content"] for m in ex)
    return texts


def train_tokenizer(vocab_size: int = 2048, n: int = 20000, seed: int = 0, extra_texts: list[str] | None = None):
    """Train the BPE and wrap it as a PreTrainedTokenizerFast (not saved)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    texts = corpus_texts(n, seed) + list(extra_texts or [])
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        eos_token=END,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[SYSTEM, USER, ASSISTANT],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 512
    return fast


def save_tokenizer(tokenizer, directory: str | Path) -> None:
    tokenizer.save_pretrained(str(directory))
