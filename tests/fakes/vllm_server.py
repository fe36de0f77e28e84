"""A fake vLLM server: the fake OpenAI server plus vLLM's ``/tokenize`` and ``/v1/completions``
with ``prompt_logprobs``, answered by a REAL causal LM loaded in-process (the built-in model by
default), in vLLM's JSON shapes (a prompt log-probability entry per prompt token, the first None,
each a dict keyed by the token id as a string).

So the vLLM scoring route runs offline against real numbers; `tests/agents/test_vllm_real.py`
holds it to a real vLLM server.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .openai_server import FakeOpenAI


class FakeVLLM(FakeOpenAI):
    provider = "vllm"

    def __init__(self, model_dir, **kwargs: Any) -> None:
        import torch
        import transformers

        self.torch = torch
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.lm = transformers.AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True,
                                                                    dtype=torch.float32).eval()
        super().__init__(**kwargs)
        self.add_route("/tokenize", self.tokenize_endpoint, methods=["POST"])
        self.add_route("/v1/completions", self.completions_endpoint, methods=["POST"])

    async def tokenize_endpoint(self, request: Request) -> Response:
        body = request.scope["state"]["record"].json
        if "messages" in body:
            text = self.tokenizer.apply_chat_template(body["messages"], tokenize=False,
                                                      add_generation_prompt=body.get("add_generation_prompt", True))
            tokens = self.tokenizer(text, add_special_tokens=body.get("add_special_tokens", False))["input_ids"]
        else:
            tokens = self.tokenizer(body["prompt"], add_special_tokens=body.get("add_special_tokens", True))["input_ids"]
        return JSONResponse({"count": len(tokens), "max_model_len": 2048, "tokens": list(tokens)})

    def prompt_logprobs(self, ids: list[int]) -> list:
        torch = self.torch
        with torch.inference_mode():
            logits = self.lm(input_ids=torch.tensor([ids])).logits[0].float().log_softmax(-1)
        out: list = [None]
        for p in range(1, len(ids)):
            value = float(logits[p - 1, ids[p]])
            rank = int((logits[p - 1] > value).sum()) + 1
            out.append({str(ids[p]): {"logprob": value, "rank": rank, "decoded_token": self.tokenizer.decode([ids[p]])}})
        return out

    async def completions_endpoint(self, request: Request) -> Response:
        body = request.scope["state"]["record"].json
        prompts = body["prompt"]
        if prompts and isinstance(prompts[0], int):
            prompts = [prompts]
        choices = []
        for i, ids in enumerate(prompts):
            choices.append({"index": i, "text": "x", "logprobs": None, "finish_reason": "length", "stop_reason": None,
                            "prompt_logprobs": self.prompt_logprobs(ids) if body.get("prompt_logprobs") is not None else None})
        return JSONResponse({"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": body["model"],
                             "choices": choices, "usage": {"prompt_tokens": sum(map(len, prompts)),
                                                           "completion_tokens": len(prompts),
                                                           "total_tokens": sum(map(len, prompts)) + len(prompts)}})
