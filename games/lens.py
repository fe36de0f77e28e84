"""The logit lens over the candidate objects: no training.

A hidden state at layer ``l`` (row ``l`` of a backend's ``hidden_states``: embeddings are row 0)
is projected through the model's final norm and its unembedding (``lm_head``), and each candidate
object is scored by the logit of its first token as it would appear mid-sentence (``" cat"``).
The last row is already normed by transformers (its ``hidden_states[-1]`` is the final norm's
output), so only rows ``0..L-1`` go through the norm. Only the candidates' rows of the
unembedding are used: the top candidate does not depend on the rest of the vocabulary, and a
large vocabulary (SmolLM2: 49k) is never multiplied out.

Candidates whose first tokens coincide cannot be told apart by this readout; they are counted in
`Lens.collisions` (the first of them wins a tie).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from improv.agents.errors import CapabilityError, ConfigError
from improv.agents.model import Model

#: where transformers models keep their final norm, on the base model
_NORM_NAMES = ("norm", "ln_f", "final_layernorm", "final_layer_norm")


def first_token(tokenizer, name: str) -> int:
    """The first token of `` name`` (a leading space, as after "It was a"), skipping a bare-space token."""
    ids = list(tokenizer(" " + name, add_special_tokens=False)["input_ids"])
    for i in ids:
        if tokenizer.decode([i]).strip():
            return int(i)
    if not ids:
        raise CapabilityError(f"the tokenizer gives no token for {name!r}")
    return int(ids[0])


def final_norm(module):
    """The final norm of a transformers causal LM (Llama ``model.norm``, GPT-2 ``transformer.ln_f``, ...)."""
    base = getattr(module, "base_model", module)
    for name in _NORM_NAMES:
        norm = getattr(base, name, None)
        if norm is not None:
            return norm
    raise CapabilityError(f"logit lens: cannot find the final norm of {type(module).__name__} "
                          f"(looked for {', '.join(_NORM_NAMES)})")


class Lens:
    """Candidate logits per layer for hidden states of one model (a transformers causal LM)."""

    def __init__(self, module, tokenizer, candidates: Sequence[str]) -> None:
        import torch

        self.torch = torch
        self.candidates = list(candidates)
        self.tokens = [first_token(tokenizer, c) for c in self.candidates]
        self.token_text = [tokenizer.decode([t]) for t in self.tokens]
        seen: dict[int, int] = {}
        for t in self.tokens:
            seen[t] = seen.get(t, 0) + 1
        #: candidates sharing their first token with another candidate
        self.collisions = sum(c for c in seen.values() if c > 1)
        self.norm = final_norm(module)
        head = module.get_output_embeddings()
        if head is None:
            raise CapabilityError(f"logit lens: {type(module).__name__} has no output embedding")
        index = torch.tensor(self.tokens, dtype=torch.long)
        with torch.no_grad():
            self.weight = head.weight[index].detach().float().clone()  # [N, hidden]
            bias = getattr(head, "bias", None)
            self.bias = bias[index].detach().float().clone() if bias is not None else None

    def logits(self, states: np.ndarray) -> np.ndarray:
        """``states`` [..., rows, hidden] (rows = layers + 1, the last already normed) ->
        candidate logits [..., rows, N]."""
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(states, dtype=np.float32))
        rows = x.shape[-2]
        with torch.no_grad():
            normed = torch.cat([self.norm(x[..., : rows - 1, :]).float(), x[..., rows - 1:, :]], dim=-2)
            out = normed @ self.weight.T
            if self.bias is not None:
                out = out + self.bias
        return out.numpy()

    def top(self, states: np.ndarray) -> np.ndarray:
        """Index of the top candidate [..., rows]."""
        return self.logits(states).argmax(axis=-1)


async def lens_for(model: Model, candidates: Sequence[str]) -> Lens:
    """A `Lens` on an in-process model (``hf/``, ``organism``): the shared loaded weights,
    reached through the hf backend's public ``load``; other backends have no weights to read."""
    backend = model.backend
    source = getattr(backend, "source", None)
    if source is None or not model.capabilities.hidden_states:
        raise CapabilityError(f"{model.name}: the logit lens needs an in-process model (hf/, organism)")
    from improv.agents.providers import hf

    loaded = await asyncio.to_thread(hf.load, source, getattr(backend, "what", "hf model"),
                                     getattr(backend, "chat_template", None))
    return Lens(loaded.model, loaded.tokenizer, candidates)


class Readout(BaseModel):
    """The logit lens at one node of one game: where the answerer's own readout of the candidate
    objects stands, from its hidden state alone, on the prompt it would get for the reveal."""

    turn: int = Field(description="The node: after this many answered questions.")
    row: int = Field(description="The hidden-state row read (0 = embeddings; the last is the model's own output).")
    rows: int = Field(description="Rows the backend returned (layers + 1).")
    candidates: int = Field(description="Candidate objects the lens ranks (the game's table).")
    top: list[tuple[str, float]] = Field(
        description="The top candidates and their share of a softmax over the candidates' first-token logits.")
    held: str | None = Field(None, description="The object the answerer holds (committed, private, sealed), if any.")
    held_rank: int | None = Field(None, description="1-based rank of the held object among the candidates.")


#: the start of the answerer's reply to the give-up question: the next token names the object
REVEAL_PREFIX = "It was a"


async def readout(game, at: int, lens: Lens, *, row: int | None = None, top: int = 5,
                  prefix: str = REVEAL_PREFIX) -> Readout:
    """The lens readout of a `Game` at node ``at``: one forward pass over the exact messages its
    answerer would be sent to reveal there (`Game.answerer_messages(at)`), its reply begun with
    ``prefix`` so that the next token is the object (at the prompt's own last token the model
    predicts "It", not an object); ``row`` defaults to the last (the model's own readout,
    restricted to the candidates)."""
    states = np.asarray(await game.model.hidden_states(game.answerer_messages(at), reply=prefix), dtype=np.float32)
    rows = states.shape[0]
    row = rows - 1 if row is None else row
    if not 0 <= row < rows:
        raise ConfigError(f"row {row}: the model has hidden-state rows 0..{rows - 1}")
    logits = lens.logits(states)[row].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    held = game.secret if game.secret in lens.candidates else None
    rank = int(np.where(order == lens.candidates.index(held))[0][0]) + 1 if held else None
    return Readout(turn=at, row=row, rows=rows, candidates=len(lens.candidates),
                   top=[(lens.candidates[i], float(p[i])) for i in order[:top]], held=held, held_rank=rank)


__all__ = ["Lens", "Readout", "final_norm", "first_token", "lens_for", "readout"]
