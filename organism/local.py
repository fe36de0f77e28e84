"""A minimal in-process backend for a model directory written by `organism.train`.

It exists so training can measure checkpoints without depending on the `hf/` provider; the
shipped model is normally reached through ``agents.get_model("organism")``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from agents.backend import Backend
from agents.types import Capabilities, Choice, Completion, GenerateConfig, Message, Usage


class LocalBackend(Backend):
    capabilities = Capabilities(native_n=True, seed=True)

    def __init__(self, directory: str | Path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.directory = str(directory)
        self.name = f"local/{self.directory}"
        self.tokenizer = AutoTokenizer.from_pretrained(self.directory)
        self.model = AutoModelForCausalLM.from_pretrained(self.directory, dtype=torch.float32).eval()

    def _generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        import torch

        msgs = [{"role": m.role, "content": m.content} for m in messages]
        enc = self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        ids = enc["input_ids"].repeat(config.n, 1)
        if config.seed is not None:
            torch.manual_seed(config.seed)
        temp = 1.0 if config.temperature is None else config.temperature
        kw = dict(do_sample=temp > 0, max_new_tokens=config.max_tokens or 48,
                  eos_token_id=self.tokenizer.eos_token_id, pad_token_id=self.tokenizer.pad_token_id)
        if temp > 0:
            kw.update(temperature=temp, top_p=config.top_p or 1.0, top_k=0)
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kw)
        choices = []
        for row in out[:, ids.shape[1]:]:
            toks = row.tolist()
            finish = "length"
            if self.tokenizer.eos_token_id in toks:
                toks = toks[: toks.index(self.tokenizer.eos_token_id)]
                finish = "stop"
            choices.append(Choice(text=self.tokenizer.decode(toks, skip_special_tokens=True), finish_reason=finish))
        return Completion(model=self.name, choices=choices,
                          usage=Usage(input_tokens=ids.shape[1], output_tokens=int(out.shape[1] - ids.shape[1]) * config.n))

    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        return await asyncio.to_thread(self._generate, messages, config)


def local_model(directory: str | Path):
    from agents.model import Model

    return Model(LocalBackend(directory), max_connections=1)
