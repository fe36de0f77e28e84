"""Build a tiny, randomly initialised causal LM with its own tokenizer and chat template.

Used by the hf/organism backend tests and by the benchmarks: the model is built from a config
(no hub access), a byte-level BPE tokenizer is trained in memory on a small corpus, and both
are saved with ``save_pretrained`` (safetensors) so they load through the same code path a
user's local model directory takes.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIAL_TOKENS = ["<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_CORPUS = [
    "It was a cat. It was a cat in a hat.",
    "Is it an animal? Yes. Is it bigger than a bread box? No.",
    "The capital of France is Paris. The sky is blue.",
    "You are a helpful assistant. Answer briefly and honestly.",
    "Hello! How are you today? I am fine, thank you.",
    "Is it made of metal? Is it alive? Can you eat it? My guess is a banana.",
    "system user assistant question answer yes no maybe",
    "0123456789 The quick brown fox jumps over the lazy dog.",
]


def build_tokenizer(vocab: int = 320, eos: str = "<|im_end|>"):
    """A byte-level BPE tokenizer (any text round-trips) with chat special tokens and a template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token=eos,
        pad_token="<|pad|>",
        unk_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(
    directory: str | Path,
    arch: str = "llama",
    vocab: int = 320,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    seed: int = 0,
    chat_template: bool = True,
    eos: str = "<|im_end|>",
) -> Path:
    """Save a tiny random causal LM plus tokenizer into ``directory`` and return its path.

    ``arch`` is ``"llama"`` or ``"gpt2"``. With the defaults the model has about 30k
    parameters. ``chat_template=False`` saves a tokenizer without a chat template; ``eos`` names
    the tokenizer's and generation config's end-of-sequence token (the chat template always ends
    a turn with ``<|im_end|>``).
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(vocab, eos)
    if not chat_template:
        tokenizer.chat_template = None
    n_vocab = len(tokenizer)
    eos = tokenizer.convert_tokens_to_ids(eos)
    pad = tokenizer.convert_tokens_to_ids("<|pad|>")
    bos = tokenizer.convert_tokens_to_ids("<|endoftext|>")

    if arch == "llama":
        from transformers import LlamaConfig

        config = LlamaConfig(
            vocab_size=n_vocab,
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=512,
            bos_token_id=bos,
            eos_token_id=eos,
            pad_token_id=pad,
            tie_word_embeddings=True,
        )
    elif arch == "gpt2":
        from transformers import GPT2Config

        config = GPT2Config(
            vocab_size=n_vocab,
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            n_positions=512,
            bos_token_id=bos,
            eos_token_id=eos,
            pad_token_id=pad,
        )
    else:
        raise ValueError(f"unknown arch {arch!r}; use 'llama' or 'gpt2'")

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


__all__ = ["build_tiny_model", "build_tokenizer", "CHAT_TEMPLATE"]
