"""Exact log-likelihoods of continuations after one shared prompt, in bounded memory.

``score_cached`` is the scorer the hf backend uses: the shared prompt is encoded once (its KV
cache kept, logits only for its last position), then the continuations run in chunks on a copy
of that cache, and only the target tokens' log-probabilities are gathered
(``logit[target] - logsumexp(logits)``), so no ``[candidates, length, vocab]`` tensor and no
log-softmax copy of one ever exists. A chunk holds as many continuations as fit in
``budget_bytes`` (their logits plus their copy of the prompt's cache).

``score_full_logits`` is the plain path (every sequence in full, right-padded, one forward,
log-softmax over the whole vocabulary): the reference the tests and
``benchmarks/bench_score.py`` compare against. Both return the same numbers up to float
rounding.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence

#: memory for one chunk of continuations (logits and their copy of the prompt's KV cache)
DEFAULT_BUDGET_BYTES = 256 * 2**20


def device_of(model):
    """Where a model's inputs go: its input embeddings' device (the first of a spread model)."""
    return model.get_input_embeddings().weight.device


def is_out_of_memory(err: BaseException, torch) -> bool:
    """An allocation failure on any device (CUDA, MPS, or the host's allocator)."""
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(err, oom)) or (
        isinstance(err, RuntimeError) and "out of memory" in str(err).lower())


def free_budget(model, torch, default: int = DEFAULT_BUDGET_BYTES) -> int:
    """A chunk budget sized to the device's free memory: a quarter of what CUDA reports free
    (at least ``default``); ``default`` on the CPU and MPS."""
    device = device_of(model)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(default, free // 4)
    return default


def score_full_logits(model, torch, prompt: Sequence[int], conts: Sequence[Sequence[int]], pad_id: int) -> list[float]:
    seqs = [list(prompt) + list(c) for c in conts]
    width = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(seqs), width), dtype=torch.long)
    for j, s in enumerate(seqs):  # right padding
        input_ids[j, : len(s)] = torch.tensor(s, dtype=torch.long)
        attention[j, : len(s)] = 1
    device = device_of(model)
    logprobs = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float().log_softmax(dim=-1).cpu()
    start = len(prompt)
    out = []
    for j, c in enumerate(conts):
        positions = torch.arange(start - 1, start - 1 + len(c))
        out.append(float(logprobs[j, positions, torch.tensor(list(c), dtype=torch.long)].sum()))
    return out


def cache_arg(model) -> str:
    """The forward argument that takes a KV cache (``cache`` in newer transformers)."""
    params = inspect.signature(type(model).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def encode_prefix(model, torch, prompt: Sequence[int]):
    """Encode ``prompt`` once (batch 1): its last position's logits and its KV cache."""
    ids = torch.tensor([list(prompt)], dtype=torch.long, device=device_of(model))
    try:
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    except TypeError:  # an architecture without logits_to_keep: full logits for the prompt once
        out = model(input_ids=ids, use_cache=True)
    past = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
    return out.logits[0, -1].float(), past


def _cache_bytes(cache) -> int:
    total = 0
    for layer in getattr(cache, "layers", []) or []:
        for name in ("keys", "values"):
            t = getattr(layer, name, None)
            if t is not None and hasattr(t, "numel"):
                total += t.numel() * t.element_size()
    return total


def _chunks(order: list[int], conts, row_bytes_fixed: int, vocab: int, budget: int):
    chunk: list[int] = []
    longest = 0
    for i in order:
        longest_if = max(longest, len(conts[i]))
        # logits (float32), the logsumexp pass over them and a gathered copy: about 3 copies per position
        cost = (len(chunk) + 1) * (row_bytes_fixed + 3 * 4 * vocab * max(longest_if - 1, 1))
        if chunk and cost > budget:
            yield chunk
            chunk, longest_if = [], len(conts[i])
        chunk.append(i)
        longest = longest_if
    if chunk:
        yield chunk


def score_cached(
    model,
    torch,
    prompt: Sequence[int],
    conts: Sequence[Sequence[int]],
    pad_id: int,
    budget_bytes: int | None = None,
) -> list[float]:
    """``budget_bytes`` defaults to `free_budget` (the device's free memory); a chunk that runs out
    of memory anyway is halved and run again, down to one continuation at a time."""
    if not conts:
        return []
    if budget_bytes is None:
        budget_bytes = free_budget(model, torch)
    if not prompt or any(not c for c in conts):
        return score_full_logits(model, torch, prompt, conts, pad_id)
    last, past = encode_prefix(model, torch, prompt)
    if not hasattr(past, "batch_repeat_interleave"):  # no reusable cache object: plain path, chunked
        return [s for i in range(len(conts)) for s in score_full_logits(model, torch, prompt, [conts[i]], pad_id)]
    first = (last - last.logsumexp(-1)).cpu()  # log-probs of each continuation's first token
    vocab = int(last.shape[-1])
    P = len(prompt)
    scores = [0.0] * len(conts)
    order = sorted(range(len(conts)), key=lambda i: len(conts[i]))
    pending = list(_chunks(order, conts, _cache_bytes(past), vocab, budget_bytes))
    while pending:
        chunk = pending.pop(0)
        try:
            got = _score_chunk(model, torch, past, P, [list(conts[i]) for i in chunk], pad_id, first)
        except Exception as err:
            if not is_out_of_memory(err, torch) or len(chunk) == 1:
                raise
            if device_of(model).type == "cuda":
                torch.cuda.empty_cache()
            half = len(chunk) // 2
            pending[:0] = [chunk[:half], chunk[half:]]
            continue
        for i, value in zip(chunk, got):
            scores[i] = value
    return scores


def _score_chunk(model, torch, past, P: int, rows: list[list[int]], pad_id: int, first) -> list[float]:
    """The scores of one chunk of continuations on a copy of the prompt's cache."""
    device = device_of(model)
    feed = max(len(r) for r in rows) - 1
    if feed <= 0:
        return [float(first[r[0]]) for r in rows]
    b = len(rows)
    ids = torch.full((b, feed), pad_id, dtype=torch.long)
    targets = torch.zeros((b, feed), dtype=torch.long)
    keep = torch.zeros((b, feed), dtype=torch.bool)
    mask = torch.zeros((b, P + feed), dtype=torch.long)
    mask[:, :P] = 1
    for j, r in enumerate(rows):  # right padding: real tokens keep positions P, P+1, ...
        k = len(r) - 1
        if k:
            ids[j, :k] = torch.tensor(r[:-1], dtype=torch.long)
            targets[j, :k] = torch.tensor(r[1:], dtype=torch.long)
            keep[j, :k] = True
            mask[j, P:P + k] = 1
    ids, targets, keep, mask = (t.to(device) for t in (ids, targets, keep, mask))
    cache = copy.deepcopy(past)
    if b > 1:
        cache.batch_repeat_interleave(b)
    logits = model(input_ids=ids, attention_mask=mask, use_cache=True, **{cache_arg(model): cache}).logits
    del cache
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1).float()
    rest = (picked - logits.float().logsumexp(-1)).masked_fill(~keep, 0.0).sum(-1).cpu()
    del logits
    return [float(first[r[0]]) + float(rest[j]) for j, r in enumerate(rows)]


__all__ = ["cache_arg", "device_of", "encode_prefix", "free_budget", "is_out_of_memory", "score_cached", "score_full_logits", "DEFAULT_BUDGET_BYTES"]
