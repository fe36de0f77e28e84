"""Exact scoring on a vLLM server, from its prompt log-probabilities.

vLLM returns the log-probability of every prompt token (``prompt_logprobs`` on
``/v1/completions``), taken from the model's raw logits (its default ``logprobs_mode``), so the
log-likelihood of a reply is read off a prompt that ends with it. The tokens are the server's
own: the conversation is rendered and tokenised by its chat template (``/tokenize`` with
``messages``), each continuation is tokenised alone and followed by the template's end-of-turn
token, as the in-process scorer does (`hf_scoring`), so the two give the same numbers for the
same weights. Continuations go in batches of `BATCH` prompts per request (a list of token-id
prompts), which vLLM schedules together; a tensor- or pipeline-parallel deployment is one URL
like any other.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from ..errors import ProviderConfigError, ProviderError
from ..sdk import sdk_errors
from ..types import Message

#: continuations per /v1/completions request
BATCH = 32
#: concurrent /tokenize requests
TOKENIZE_CONCURRENCY = 16
_PROBE = "PROBE"


class ScoringUnavailable(ProviderConfigError):
    """The server gave no usable prompt log-probabilities (not vLLM, or too old): exit 2."""


class PromptLogprobScorer:
    """``score(messages, continuations)`` for one vLLM backend (an `OpenAIChatBackend`)."""

    def __init__(self, backend) -> None:
        self.backend = backend
        base = backend.base_url
        self.root = base[: -len("/v1")] if base.endswith("/v1") else base
        self._end_of_turn: int | None = None

    async def _post(self, url: str, body: dict[str, Any]) -> Any:
        client = self.backend.client()
        with sdk_errors(self.backend.map_error):
            return await client.post(url, body=body, cast_to=object)

    async def _tokenize(self, **body: Any) -> list[int]:
        try:
            got = await self._post(f"{self.root}/tokenize", {"model": self.backend.model, **body})
        except ProviderError as err:
            if err.status not in (404, 405):
                raise
            raise ScoringUnavailable(f"{self.backend.name}: {self.root}/tokenize is not there ({err.status}); "
                                     "exact scoring needs a vLLM server", status=err.status) from None
        tokens = got.get("tokens") if isinstance(got, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
            raise ScoringUnavailable(f"{self.backend.name}: {self.root}/tokenize gave no token list; exact scoring needs a vLLM server")
        return tokens

    async def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        return await self._tokenize(messages=[{"role": m.role, "content": m.content} for m in messages],
                                    add_generation_prompt=True, add_special_tokens=False)

    async def end_of_turn(self) -> int:
        """The token the chat template puts right after an assistant reply."""
        if self._end_of_turn is None:
            user = [{"role": "user", "content": "hi"}]
            prompt = await self._tokenize(messages=user, add_generation_prompt=True, add_special_tokens=False)
            full = await self._tokenize(messages=[*user, {"role": "assistant", "content": _PROBE}],
                                        add_generation_prompt=False, add_special_tokens=False)
            probe = await self._tokenize(prompt=_PROBE, add_special_tokens=False)
            rest = full[len(prompt):]
            if full[: len(prompt)] != prompt or rest[: len(probe)] != probe or len(rest) <= len(probe):
                raise ScoringUnavailable(f"{self.backend.name}: the server's chat template does not end a reply "
                                         "with a token after it; exact scoring cannot tell where a reply ends")
            self._end_of_turn = rest[len(probe)]
        return self._end_of_turn

    async def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        if not continuations:
            return []
        limit = asyncio.Semaphore(TOKENIZE_CONCURRENCY)

        async def cont_ids(text: str) -> list[int]:
            async with limit:
                return await self._tokenize(prompt=text, add_special_tokens=False)

        prompt, eot = await asyncio.gather(self.prompt_ids(messages), self.end_of_turn())
        conts = await asyncio.gather(*(cont_ids(c) for c in continuations))
        seqs = [prompt + c + [eot] for c in conts]
        out: list[float] = []
        for i in range(0, len(seqs), BATCH):
            out.extend(await self._score_batch(len(prompt), seqs[i:i + BATCH]))
        return out

    async def _score_batch(self, start: int, seqs: list[list[int]]) -> list[float]:
        client = self.backend.client()
        with sdk_errors(self.backend.map_error):
            resp = await client.completions.create(
                model=self.backend.model, prompt=seqs, max_tokens=1, temperature=0.0,
                extra_body={"prompt_logprobs": 0})
        choices = sorted(resp.choices, key=lambda c: c.index)
        if len(choices) != len(seqs):
            raise ScoringUnavailable(f"{self.backend.name}: {len(seqs)} prompts scored, {len(choices)} answers came back")
        return [self._sum(seq, start, getattr(c, "prompt_logprobs", None) or (c.model_extra or {}).get("prompt_logprobs"))
                for seq, c in zip(seqs, choices)]

    def _sum(self, seq: list[int], start: int, entries: Any) -> float:
        if not isinstance(entries, list) or len(entries) != len(seq):
            raise ScoringUnavailable(f"{self.backend.name}: the server returned no prompt_logprobs for a prompt of "
                                     f"{len(seq)} tokens; exact scoring needs a vLLM server")
        total = 0.0
        for position in range(start, len(seq)):
            entry = entries[position] or {}
            found = entry.get(str(seq[position]), entry.get(seq[position])) if isinstance(entry, dict) else None
            value = found.get("logprob") if isinstance(found, dict) else None
            if not isinstance(value, (int, float)) or math.isnan(value):
                raise ScoringUnavailable(f"{self.backend.name}: no log-probability for prompt token {position}")
            total += float(value)
        return total


__all__ = ["BATCH", "PromptLogprobScorer", "ScoringUnavailable"]
