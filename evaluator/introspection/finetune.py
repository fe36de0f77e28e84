"""Supervised fine-tuning of an in-process model on (messages -> reply) examples, written out as
a model folder that ``hf/DIR`` (and ``organism/DIR`` for the built-in model) loads.

- ``lora``: low-rank adapters (peft) on the attention and MLP projections, merged into the
  weights before saving, so the folder is a plain transformers model (no peft needed to load).
- ``full``: every weight trained (the built-in model is small enough).

Loss is on the reply tokens only (the chat template's end-of-turn token included), the prompt is
rendered with the tokenizer's own chat template exactly as the hf backend renders it, so the model
is trained on the strings it will be asked. Deterministic for a seed. The folder is written under
a temporary name beside the target and renamed into place, so nothing is half-written.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError
from improv.agents.types import Message


class Example(BaseModel):
    """One training example: a fresh single-turn conversation and the reply to learn."""

    messages: list[Message]
    reply: str
    task: str = ""
    property: str = ""
    kind: str = Field("hypothetical", description="hypothetical (self-prediction) or object (behaviour change).")


class FinetuneSettings(BaseModel):
    method: str = Field("lora", pattern="^(lora|full)$")
    epochs: float = Field(2.0, gt=0)
    lr: float | None = Field(None, gt=0, description="Default: 5e-4 for lora, 3e-4 for full.")
    batch_size: int = Field(8, ge=1)
    lora_rank: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    seed: int = 0
    max_length: int = Field(512, ge=8)
    device: str | None = Field(None, description="auto, cpu, cuda, cuda:N, mps (default: $IMPROV_DEVICE, else auto)")
    dtype: str | None = Field(None, description="the weights' dtype while training (default: $IMPROV_DTYPE, else auto: "
                                                "bfloat16 on CUDA, float32 on the CPU)")
    gradient_checkpointing: bool = Field(False, description="recompute activations in the backward pass: less memory, slower")

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (5e-4 if self.method == "lora" else 3e-4)


class FinetuneResult(BaseModel):
    out: str
    source: str
    method: str
    examples: int
    steps: int
    first_loss: float | None
    last_loss: float | None
    settings: dict


Progress = Callable[[int, int, float], None]


def _encode(tokenizer, ex: Example, max_length: int) -> tuple[list[int], list[int]]:
    msgs = [{"role": m.role, "content": m.content} for m in ex.messages]
    prompt = tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template([*msgs, {"role": "assistant", "content": ex.reply}],
                                         add_generation_prompt=False, tokenize=False)
    if not full.startswith(prompt):
        raise ConfigError("the chat template renders a reply that does not extend the prompt; cannot fine-tune on it")
    p_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    r_ids = list(tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"])
    ids = (p_ids + r_ids)[-max_length:]
    labels = ([-100] * len(p_ids) + r_ids)[-max_length:]
    return ids, labels


def finetune(source, examples: Sequence[Example], out: str | Path, settings: FinetuneSettings | None = None,
             *, progress: Progress | None = None, meta: dict | None = None) -> FinetuneResult:
    """Fine-tune the model at ``source`` (a resolved `ModelSource`, a folder or a GGUF path) on
    ``examples`` and write the merged model folder ``out`` (which must not exist)."""
    from improv.agents.providers.hf import from_source, import_torch_transformers
    from improv.agents.providers.hf_placement import resolve as resolve_placement
    from improv.agents.providers.hf_source import ModelSource, resolve

    s = settings or FinetuneSettings()
    target = Path(out).expanduser()
    if target.exists():
        raise ConfigError(f"{target} already exists; choose a new folder")
    if not examples:
        raise ConfigError("no training examples (every object-level answer was non-compliant?)")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = source if isinstance(source, ModelSource) else resolve(str(source))
    torch, _ = import_torch_transformers()
    torch.manual_seed(s.seed)
    placement = resolve_placement(s.device, s.dtype, torch=torch)
    tokenizer, model, placement = from_source(src, what="model to fine-tune", placement=placement, require_template=False)
    device = model.get_input_embeddings().weight.device
    if s.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()  # LoRA leaves the embeddings frozen; checkpointing needs a grad path
        model.config.use_cache = False
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"{src.path}: the tokenizer has no chat template; cannot fine-tune chat examples")
    model.hf_quantizer = None  # GGUF weights are plain dequantised tensors (see hf_export)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)

    if s.method == "lora":
        from peft import LoraConfig, get_peft_model

        # projections are nn.Linear (llama family) or transformers' Conv1D (gpt2)
        names = {n.rsplit(".", 1)[-1] for n, mod in model.named_modules()
                 if isinstance(mod, torch.nn.Linear) or type(mod).__name__ == "Conv1D"}
        wanted = [n for n in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj") if n in names]
        if not wanted:
            wanted = sorted(n for n in names if n != "lm_head")
        if not wanted:
            raise ConfigError(f"{src.path}: no linear projections found for LoRA; fine-tune it with method full")
        model = get_peft_model(model, LoraConfig(r=s.lora_rank, lora_alpha=s.lora_alpha, lora_dropout=0.0,
                                                 target_modules=wanted, task_type="CAUSAL_LM"))
    model.train()
    encoded = [_encode(tokenizer, ex, s.max_length) for ex in examples]
    rng = random.Random(s.seed)
    total_steps = max(1, round(s.epochs * len(encoded) / s.batch_size))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.learning_rate(), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / max(1, total_steps // 10))
                                              * max(0.0, 1 - step / total_steps))
    order: list[int] = []
    first_loss = last_loss = None
    for step in range(total_steps):
        if len(order) < s.batch_size:
            more = list(range(len(encoded)))
            rng.shuffle(more)
            order.extend(more)
        batch = [encoded[i] for i in order[:s.batch_size]]
        del order[:s.batch_size]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([x + [pad] * (width - len(x)) for x, _ in batch], dtype=torch.long)
        labels = torch.tensor([y + [-100] * (width - len(y)) for _, y in batch], dtype=torch.long)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in batch], dtype=torch.long)
        loss = model(input_ids=ids.to(device), attention_mask=mask.to(device), labels=labels.to(device)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        value = float(loss.detach())
        first_loss = value if first_loss is None else first_loss
        last_loss = value
        if progress:
            progress(step + 1, total_steps, value)

    if s.method == "lora":
        model = model.merge_and_unload()
    model.eval()
    result = FinetuneResult(out=str(target), source=str(src.path), method=s.method, examples=len(examples),
                            steps=total_steps, first_loss=first_loss, last_loss=last_loss, settings=s.model_dump())
    from improv.agents.providers.hf_export import write_model_folder

    info = result.model_dump() | {"meta": meta or {}}
    write_model_folder(model, tokenizer, target, {"improv_finetune.json": json.dumps(info, indent=2)})
    return result
