"""``hf/<dir | file.gguf | org/name>``: a transformers causal LM loaded in-process.

- Sources (`hf_source`): a local directory (safetensors), a GGUF file (dequantised to float32
  by transformers), or a hub id resolved through the Hugging Face cache. Loading itself is
  local only: ``local_files_only=True``, ``trust_remote_code=False``. CPU, eval mode,
  ``torch.inference_mode``.
- One load per source (and chat template) per process: every `HFBackend` on the same resolved
  path shares the model, tokenizer and a lock (`_Loaded`).
- Prompts are rendered with the tokenizer's chat template (``add_generation_prompt=True``), or
  with the template given as ``chat_template`` (``--chat-template FILE`` or
  ``$IMPROV_CHAT_TEMPLATE``); a model with neither is refused, naming both.
- ``n`` samples come from ONE batched ``model.generate`` call (the prompt repeated ``n`` times);
  at temperature 0 the greedy answer is computed once and copied ``n`` times.
- Concurrent ``generate`` calls with compatible settings (same temperature, top_p, max_tokens,
  stop, logprobs; no seed) are merged into one left-padded batched ``generate`` call: requests
  queue up while a batch runs, and one drain task per event loop takes them in batches
  (the design of Inspect AI's hf provider ``batched_generate``).
- Token logprobs are ``log_softmax`` of the model's RAW logits at each step (before temperature
  and top_p), i.e. the model's own distribution, not the sampling distribution.
- A reply ends at the EOS token(s) or the chat template's end-of-turn token; ``max_tokens``
  (default 64) is lowered when prompt + reply would overrun the context window, and an input
  longer than the window is refused.
- ``score`` is the exact log-likelihood of each continuation as the assistant reply, the
  template's end-of-turn token included (so a reply and its prefix differ): the prompt is
  encoded once and the continuations run on its KV cache in memory-bounded chunks
  (`hf_scoring`). ``hidden_states`` returns a numpy ``[layers + 1, hidden]``.
- The weights load on the first request (in a worker thread), not when the backend is made.
- ``IMPROV_TORCH_THREADS`` sets torch's intra-op thread count (process-wide). Small models on
  a busy machine are often much faster with 1 than with the default (one per core).
- Blocking torch work runs in a worker thread (``asyncio.to_thread``) under the per-model lock,
  so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backend import Backend
from ..env import env_number
from ..errors import ConfigError, RequestRefused, SettingError
from ..registry import capabilities_of
from ..text import first_line
from ..types import Choice, Completion, GenerateConfig, Message, StreamEnd, TokenLogprob, TopLogprob, Usage
from . import hf_scoring
from .hf_placement import Placement, fit_to_device
from .hf_placement import resolve as resolve_placement
from .hf_source import ModelSource, check_model_dir, resolve

DEFAULT_MAX_TOKENS = 64
#: most rows (prompts x samples) merged into one generate call across requests
DEFAULT_MAX_BATCH_ROWS = 64

_cache: dict[tuple, "_Loaded"] = {}
_cache_lock = threading.Lock()


def import_torch_transformers():
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    count = env_number("IMPROV_TORCH_THREADS", int, None, minimum=1, expected="a whole number, at least 1")
    if count is not None and torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return torch, transformers


def quiet_gguf() -> None:
    """Silence transformers' GGUF de-quantisation progress bar: it is a bare tqdm that ignores
    transformers' own progress-bar switch and would write over the CLI's output and the TUI."""
    import functools

    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    if not isinstance(gguf_utils.tqdm, functools.partial):
        gguf_utils.tqdm = functools.partial(gguf_utils.tqdm, disable=True)


def gguf_chat_template(path: Path) -> str | None:
    """The chat template in a GGUF file's metadata (``tokenizer.chat_template``), read from the
    header without loading a tensor; None when the file has none."""
    from gguf import GGUFReader

    try:
        field = GGUFReader(str(path), "r").fields.get("tokenizer.chat_template")
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"GGUF file {path} could not be read: {first_line(err)}") from None
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8", "replace") or None


def check_template(source: ModelSource, what: str, chat_template: str | None, tokenizer=None) -> None:
    """Refuse a model with no chat template before its weights load (a GGUF's template is in its
    header; a folder's in its tokenizer files)."""
    if chat_template:
        return
    if tokenizer is not None:
        found = getattr(tokenizer, "chat_template", None)
    elif source.gguf_file:
        found = gguf_chat_template(source.folder / source.gguf_file)
    else:
        return
    if not found:
        raise SettingError(
            "chat_template", f"{what} at {source.path}: the tokenizer has no chat template; give one with "
            "$chat_template (or the IMPROV_CHAT_TEMPLATE variable)"
        )


def from_source(source: ModelSource, what: str = "hf model", placement: Placement | None = None,
                chat_template: str | None = None, *, require_template: bool = True):
    """``(tokenizer, model, placement)`` from a resolved source (folder or GGUF), local files only,
    placed as ``placement`` says (default: the CPU in float32); a failure is one `ConfigError`
    line naming the path. The chat template is checked before the weights are read."""
    torch, transformers = import_torch_transformers()
    placement = placement or Placement()
    where = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    if require_template:
        check_template(source, what, chat_template)
    try:
        if source.gguf_file:
            quiet_gguf()
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(source.folder), local_files_only=True, trust_remote_code=False, **where)
        if chat_template:
            tokenizer.chat_template = chat_template
        if require_template:
            check_template(source, what, chat_template, tokenizer)
        if placement.may_spread and not placement.device_map:
            config = transformers.AutoConfig.from_pretrained(str(source.folder), local_files_only=True, **where)
            placement = fit_to_device(placement, config, torch, transformers)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(source.folder), local_files_only=True, trust_remote_code=False, **placement.load_kwargs(torch),
            **(where or {"use_safetensors": True}))
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, TypeError) as err:
        first = first_line(err)
        raise ConfigError(f"{what} at {source.path} could not be loaded: {first}") from None
    if not (placement.device_map or placement.quantize):
        model.to(placement.device)
    return tokenizer, model, placement


@dataclass
class _Request:
    prompt_ids: list[int]
    config: GenerateConfig
    future: asyncio.Future


@dataclass
class _Batcher:
    pending: list[_Request] = field(default_factory=list)
    task: asyncio.Task | None = None


class _Loaded:
    """One loaded (model, tokenizer) pair, shared by every backend on its directory."""

    def __init__(self, source: ModelSource, what: str, chat_template: str | None = None,
                 placement: Placement | None = None) -> None:
        torch, _ = import_torch_transformers()
        path = source.path
        self.path = path
        self.torch = torch
        self.tokenizer, self.model, self.placement = from_source(source, what, placement, chat_template)
        #: where inputs go: the input embeddings' device (the first device of a spread model)
        self.device = self.model.get_input_embeddings().weight.device
        self.model.eval()
        self.lock = threading.Lock()
        self.batchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher]" = weakref.WeakKeyDictionary()

        tok = self.tokenizer
        eos: list[int] = []
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        for value in (gen_eos, tok.eos_token_id):
            for i in value if isinstance(value, (list, tuple)) else [value]:
                if i is not None and i not in eos:
                    eos.append(int(i))
        if not eos:
            raise ConfigError(f"{what} at {path}: neither the generation config nor the tokenizer names an end-of-sequence token")
        self.eos_ids = eos
        pad = tok.pad_token_id
        if pad is None:
            pad = getattr(self.model.generation_config, "pad_token_id", None)
        self.pad_id = int(pad if pad is not None else eos[0])
        self.end_of_turn_id = self._find_end_of_turn()
        if self.end_of_turn_id not in self.eos_ids:  # a reply also ends at the template's end of turn
            self.eos_ids.append(self.end_of_turn_id)
        self.n_layers = int(getattr(self.model.config, "num_hidden_layers", 0) or 0)
        cfg = self.model.config
        limit = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
        self.context = int(limit) if limit else None

    def check_length(self, name: str, tokens: int) -> None:
        """Refuse an input longer than the model's context window."""
        if self.context is not None and tokens > self.context:
            raise RequestRefused(f"{name}: an input of {tokens} tokens exceeds the model's context of {self.context} tokens")

    def fit(self, name: str, prompt_tokens: int, config: GenerateConfig) -> GenerateConfig:
        """``config`` with max_tokens lowered so prompt + reply fit the context window."""
        wanted = config.max_tokens or DEFAULT_MAX_TOKENS
        if self.context is None:
            return config
        room = self.context - prompt_tokens
        if room < 1:
            raise RequestRefused(
                f"{name}: a prompt of {prompt_tokens} tokens leaves no room in the model's context of {self.context} tokens"
            )
        return config.model_copy(update={"max_tokens": room}) if wanted > room else config

    # -- prompts -------------------------------------------------------------------------
    def render(self, messages: Sequence[Message], add_generation_prompt: bool = True) -> str:
        try:
            return self.tokenizer.apply_chat_template(
                [{"role": m.role, "content": m.content} for m in messages],
                add_generation_prompt=add_generation_prompt,
                tokenize=False,
            )
        except Exception as err:  # a Jinja template may raise on e.g. role order
            raise ConfigError(f"chat template of {self.path} refused these messages: {err}") from None

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        return self.encode(self.render(messages))

    def _find_end_of_turn(self) -> int:
        """The token the chat template puts right after an assistant reply (else the EOS)."""
        probe = "PROBE"
        msgs = [Message(role="user", content="hi")]
        try:
            prompt = self.render(msgs)
            full = self.render([*msgs, Message(role="assistant", content=probe)], add_generation_prompt=False)
        except ConfigError:
            return self.eos_ids[0]
        if full.startswith(prompt):
            rest = full[len(prompt):]
            at = rest.find(probe)
            if at >= 0:
                after = self.encode(rest[at + len(probe):])
                special = set(self.tokenizer.all_special_ids)
                special.update(i for i, t in self.tokenizer.added_tokens_decoder.items() if getattr(t, "special", False))
                if after and (after[0] in self.eos_ids or after[0] in special):
                    return after[0]
        return self.eos_ids[0]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)


def _key(source: ModelSource, chat_template: str | None, placement: Placement | None = None) -> tuple:
    return (source.path.resolve(), chat_template, placement or Placement())


def load(path: Path | ModelSource, what: str = "hf model", chat_template: str | None = None,
         placement: Placement | None = None) -> _Loaded:
    """The process-wide shared load of the model at ``path`` (a directory, a GGUF file or a
    resolved `ModelSource`) in ``placement`` (default: the CPU, float32)."""
    source = path if isinstance(path, ModelSource) else resolve(str(path), what)
    key = _key(source, chat_template, placement)
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is None:
            loaded = _cache[key] = _Loaded(source, what, chat_template, placement)
        return loaded


def _batch_key(config: GenerateConfig) -> tuple:
    return (
        config.temperature,
        config.top_p,
        config.max_tokens,
        tuple(config.stop or ()),
        config.logprobs,
        config.top_logprobs,
    )


def _greedy(config: GenerateConfig) -> bool:
    return config.temperature is not None and config.temperature == 0


class HFBackend(Backend):
    #: the in-process route: the same for hf/ and organism (declared once, in agents.registry)
    capabilities = capabilities_of("hf")
    #: n samples of one prompt reuse one encoding of it (off only to compare against the plain path)
    share_prefill = True

    def __init__(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        what: str = "hf model",
        batching: bool = True,
        max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
        chat_template: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        self.source = resolve(str(path), what)
        #: checked now, before any weight loads (a device this machine lacks is one line)
        self.placement = resolve_placement(device, dtype)
        self.path = self.source.path
        self.name = name or f"hf/{path}"
        self.what = what
        self.batching = batching
        self.max_batch_rows = max_batch_rows
        self.chat_template = chat_template
        self._loaded: _Loaded | None = None

    def connection_key(self) -> str:
        return self.name

    async def load_weights(self) -> _Loaded:
        """Load the model now (it loads on first use otherwise): for a measurement that must not
        count loading. Returns the loaded bundle (tokenizer, model, prompt rendering)."""
        return await self._load()

    async def _load(self) -> _Loaded:
        if self._loaded is None:
            shared = _cache.get(_key(self.source, self.chat_template, self.placement))  # already loaded: no thread hop
            self._loaded = shared or await asyncio.to_thread(load, self.source, self.what, self.chat_template,
                                                             self.placement)
        return self._loaded

    # -- generate --------------------------------------------------------------------------
    async def generate(self, messages: Sequence[Message], config: GenerateConfig) -> Completion:
        lm = await self._load()
        ids = lm.prompt_ids(messages)
        config = lm.fit(self.name, len(ids), config)
        settings = self.settings(config)
        if not self.batching or config.seed is not None:
            (choices, usage), = await asyncio.to_thread(self._run_batch, lm, [(ids, config)])
            return Completion(model=self.name, choices=choices, usage=usage, settings=settings)
        loop = asyncio.get_running_loop()
        request = _Request(ids, config, loop.create_future())
        batcher = lm.batchers.get(loop)
        if batcher is None:
            batcher = lm.batchers[loop] = _Batcher()
        batcher.pending.append(request)
        if batcher.task is None or batcher.task.done():
            batcher.task = loop.create_task(self._drain(lm, batcher))
        choices, usage = await request.future
        return Completion(model=self.name, choices=choices, usage=usage, settings=settings)

    async def _drain(self, lm: _Loaded, batcher: _Batcher) -> None:
        """Take compatible pending requests in batches until none are left."""
        while batcher.pending:
            # let coroutines started in the same tick enqueue before the batch is cut
            seen = -1
            for _ in range(20):
                if len(batcher.pending) == seen:
                    break
                seen = len(batcher.pending)
                await asyncio.sleep(0)
            first = batcher.pending[0]
            key = _batch_key(first.config)
            batch: list[_Request] = []
            rows = 0
            for req in list(batcher.pending):
                if _batch_key(req.config) != key:
                    continue
                size = 1 if _greedy(req.config) else req.config.n
                if batch and rows + size > self.max_batch_rows:
                    break
                batch.append(req)
                rows += size
            for req in batch:
                batcher.pending.remove(req)
            live = [r for r in batch if not r.future.done()]
            if not live:
                continue
            try:
                results = await asyncio.to_thread(
                    self._run_batch, lm, [(r.prompt_ids, r.config) for r in live]
                )
            except asyncio.CancelledError:  # the loop is going away: release every waiter
                for r in live:
                    r.future.cancel()
                raise
            except Exception as err:  # hand the failure to every waiter
                for r in live:
                    if not r.future.done():
                        r.future.set_exception(err)
                continue
            for r, result in zip(live, results):
                if not r.future.done():
                    r.future.set_result(result)

    def settings(self, config: GenerateConfig) -> dict[str, Any]:
        """The sampling actually used for ``config`` (after the context fit): no top_k, no
        repetition penalty, temperature 1 and top_p 1 unless set; and where the weights ran
        (device, dtype, quantisation), which every transcript records."""
        greedy = _greedy(config)
        out: dict[str, Any] = {
            "temperature": 0.0 if greedy else (config.temperature if config.temperature is not None else 1.0),
            "top_p": None if greedy else (config.top_p if config.top_p is not None else 1.0),
            "top_k": 0,
            "max_tokens": config.max_tokens or DEFAULT_MAX_TOKENS,
            "n": config.n,
        }
        if config.seed is not None:
            out["seed"] = config.seed
        if config.stop:
            out["stop"] = list(config.stop)
        placement = self._loaded.placement if self._loaded is not None else self.placement
        out.update(placement.describe())
        return out

    def _generation_kwargs(self, lm: _Loaded, config: GenerateConfig) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": config.max_tokens or DEFAULT_MAX_TOKENS,
            "eos_token_id": lm.eos_ids,
            "pad_token_id": lm.pad_id,
            "top_k": 0,
        }
        if _greedy(config):
            kwargs.update(do_sample=False, temperature=None, top_p=None)
        else:
            kwargs.update(do_sample=True, temperature=config.temperature if config.temperature is not None else 1.0)
            kwargs["top_p"] = config.top_p if config.top_p is not None else 1.0
        if config.stop:
            kwargs.update(stop_strings=list(config.stop), tokenizer=lm.tokenizer)
        return kwargs

    def _run_batch(
        self, lm: _Loaded, requests: list[tuple[list[int], GenerateConfig]]
    ) -> list[tuple[list[Choice], Usage]]:
        """`_run_rows`, halving the batch (requests, then one request's n samples) and running
        the halves one after the other when the device runs out of memory."""
        try:
            return self._run_rows(lm, requests)
        except Exception as err:
            if not hf_scoring.is_out_of_memory(err, lm.torch):
                raise
            if lm.device.type == "cuda":
                lm.torch.cuda.empty_cache()
            if len(requests) > 1:
                half = len(requests) // 2
                return self._run_batch(lm, requests[:half]) + self._run_batch(lm, requests[half:])
            ids, cfg = requests[0]
            if cfg.n == 1 or _greedy(cfg):
                raise RequestRefused(f"{self.name}: out of memory on {lm.device} for one sample of a "
                                     f"{len(ids)}-token prompt ({first_line(err)})") from None
            a = cfg.n // 2
            seed_b = None if cfg.seed is None else cfg.seed + a
            (ca, ua), = self._run_batch(lm, [(ids, cfg.model_copy(update={"n": a}))])
            (cb, ub), = self._run_batch(lm, [(ids, cfg.model_copy(update={"n": cfg.n - a, "seed": seed_b}))])
            return [(ca + cb, Usage(input_tokens=ua.input_tokens, output_tokens=ua.output_tokens + ub.output_tokens))]

    def _run_rows(
        self, lm: _Loaded, requests: list[tuple[list[int], GenerateConfig]]
    ) -> list[tuple[list[Choice], Usage]]:
        """One ``model.generate`` call for requests sharing one batch key (runs in a thread)."""
        torch = lm.torch
        config = requests[0][1]
        greedy = _greedy(config)
        rows: list[list[int]] = []
        owners: list[int] = []
        for i, (ids, cfg) in enumerate(requests):
            for _ in range(1 if greedy else cfg.n):
                rows.append(ids)
                owners.append(i)
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), lm.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for j, r in enumerate(rows):  # left padding
            input_ids[j, width - len(r):] = torch.tensor(r, dtype=torch.long)
            attention[j, width - len(r):] = 1
        kwargs = self._generation_kwargs(lm, config)
        want_logprobs = config.logprobs
        with lm.lock, torch.inference_mode():
            if config.seed is not None:
                torch.manual_seed(config.seed)
            if self.share_prefill and len(rows) > 1 and width > 1 and all(r == rows[0] for r in rows):
                # n samples of one prompt: encode it once, not once per row (the prefill is most of
                # the cost of K short reveals after a long game)
                kwargs[hf_scoring.cache_arg(lm.model)] = self._prefill(lm, rows[0][:-1], len(rows))
            out = lm.model.generate(
                input_ids=input_ids.to(lm.device),
                attention_mask=attention.to(lm.device),
                return_dict_in_generate=True,
                output_logits=want_logprobs,
                **kwargs,
            )
        sequences = out.sequences[:, width:].cpu()
        step_logprobs = None
        if want_logprobs and out.logits:
            step_logprobs = torch.stack(out.logits, dim=1).float().log_softmax(dim=-1).cpu()  # [rows, steps, vocab]

        max_new = kwargs["max_new_tokens"]
        per_request: list[list[Choice]] = [[] for _ in requests]
        out_tokens = [0] * len(requests)
        for j in range(len(rows)):
            choice, n_tokens = self._make_choice(lm, sequences[j].tolist(), step_logprobs, j, config, max_new)
            per_request[owners[j]].append(choice)
            out_tokens[owners[j]] += n_tokens
        results = []
        for i, (ids, cfg) in enumerate(requests):
            choices = per_request[i]
            if greedy and cfg.n > 1:
                choices = [choices[0].model_copy(deep=True) for _ in range(cfg.n)]
                out_tokens[i] *= cfg.n
            results.append((choices, Usage(input_tokens=len(ids), output_tokens=out_tokens[i])))
        return results

    @staticmethod
    def _prefill(lm: _Loaded, prefix: list[int], rows: int):
        """The KV cache of ``prefix`` (encoded once, as the scorer encodes a prompt), repeated for
        ``rows`` rows."""
        _, past = hf_scoring.encode_prefix(lm.model, lm.torch, prefix)
        past.batch_repeat_interleave(rows)
        return past

    def _make_choice(self, lm, tokens, step_logprobs, row, config, max_new) -> tuple[Choice, int]:
        n = len(tokens)
        for k, t in enumerate(tokens):
            if t in lm.eos_ids:
                n = k
                break
        else:  # a row stopped early (stop string) is padded to the batch's length
            while n > 0 and tokens[n - 1] == lm.pad_id:
                n -= 1
        finish = "length" if n >= max_new else "stop"
        kept = tokens[:n]
        text = lm.decode(kept)
        if config.stop:
            cut = min((text.find(s) for s in config.stop if s and s in text), default=-1)
            if cut >= 0:
                text, finish = text[:cut], "stop"
                if step_logprobs is not None:  # keep the tokens lying wholly before the cut
                    m = 0
                    while m < len(kept) and len(lm.decode(kept[: m + 1])) <= cut:
                        m += 1
                    kept = kept[:m]
        logprobs = None
        if step_logprobs is not None:
            top = config.top_logprobs or 0
            logprobs = []
            for step, t in enumerate(kept):
                dist = step_logprobs[row, step]
                alts = []
                if top:
                    values, indices = dist.topk(top)
                    alts = [
                        TopLogprob(token=lm.tokenizer.decode([int(i)]), logprob=float(v))
                        for v, i in zip(values.tolist(), indices.tolist())
                    ]
                logprobs.append(
                    TokenLogprob(token=lm.tokenizer.decode([t]), logprob=float(dist[t]), top_logprobs=alts)
                )
        return Choice(text=text, finish_reason=finish, logprobs=logprobs), n

    # -- stream ----------------------------------------------------------------------------
    async def stream(self, messages: Sequence[Message], config: GenerateConfig) -> AsyncIterator[str]:
        """Yield text deltas of one sample: ``generate`` runs in a thread with a streamer that
        hands decoded text to this coroutine through an asyncio queue. Leaving the iterator
        early (or cancelling it) stops the generation at the next token."""
        lm = await self._load()
        torch = lm.torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

        ids = lm.prompt_ids(messages)
        config = lm.fit(self.name, len(ids), config)
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        class _QueueStreamer(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    loop.call_soon_threadsafe(queue.put_nowait, text)

        streamer = _QueueStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = self._generation_kwargs(lm, config)

        def work() -> None:
            try:
                with lm.lock, torch.inference_mode():
                    if config.seed is not None:
                        torch.manual_seed(config.seed)
                    out = lm.model.generate(
                        input_ids=torch.tensor([ids], dtype=torch.long, device=lm.device),
                        attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=lm.device),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Cancel()]),
                        **kwargs,
                    )
                new = out[0, len(ids):].tolist()
                ended = any(t in lm.eos_ids for t in new)
                outcome: object = StreamEnd(
                    finish_reason="length" if not ended and len(new) >= kwargs["max_new_tokens"] else "stop",
                    settings=self.settings(config),
                )
            except Exception as err:  # surfaced to the consumer
                outcome = err
            try:
                loop.call_soon_threadsafe(queue.put_nowait, outcome)
            except RuntimeError:  # the event loop is gone; nobody is listening
                pass

        thread = threading.Thread(target=work, name="improv-hf-stream", daemon=True)
        thread.start()
        stops = [s for s in (config.stop or []) if s]
        hold = max((len(s) for s in stops), default=1) - 1
        text = ""
        emitted = 0
        finish = StreamEnd(finish_reason="stop", settings=self.settings(config))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, StreamEnd):
                    finish = item
                    break
                if isinstance(item, Exception):
                    raise item
                text += item
                cut = min((text.find(s) for s in stops if s in text), default=-1)
                if cut >= 0:
                    if cut > emitted:
                        yield text[emitted:cut]
                    emitted = len(text)
                    break  # a stop string: finish stays "stop"
                safe = len(text) - hold
                if safe > emitted:
                    yield text[emitted:safe]
                    emitted = safe
            if len(text) > emitted:
                yield text[emitted:]
            yield finish
        finally:
            cancel.set()
            await asyncio.to_thread(thread.join)

    # -- score / hidden states -----------------------------------------------------------
    async def score(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        lm = await self._load()
        if not continuations:
            return []
        return await asyncio.to_thread(self._score, lm, list(messages), list(continuations))

    def _score(self, lm: _Loaded, messages: list[Message], continuations: list[str], full_logits: bool = False) -> list[float]:
        prompt = lm.prompt_ids(messages)
        conts = [lm.encode(c) + [lm.end_of_turn_id] for c in continuations]
        lm.check_length(self.name, len(prompt) + max(len(c) for c in conts))
        scorer = hf_scoring.score_full_logits if full_logits else hf_scoring.score_cached
        with lm.lock, lm.torch.inference_mode():
            return scorer(lm.model, lm.torch, prompt, conts, lm.pad_id)

    async def score_full_logits(self, messages: Sequence[Message], continuations: Sequence[str]) -> list[float]:
        """``score`` by the plain path (all sequences in one forward, full-vocabulary
        log-softmax): the reference for tests and the scoring benchmark, not for use at scale."""
        lm = await self._load()
        if not continuations:
            return []
        return await asyncio.to_thread(self._score, lm, list(messages), list(continuations), True)

    async def hidden_states(self, messages: Sequence[Message], reply: str | None = None, layers: Sequence[int] | None = None):
        """A numpy array ``[n_layers + 1, hidden]`` (embeddings first) at the last token of the
        chat-templated prompt, or of prompt + ``reply`` when given; ``layers`` selects rows."""
        lm = await self._load()
        return await asyncio.to_thread(self._hidden, lm, list(messages), reply, layers)

    def _hidden(self, lm: _Loaded, messages, reply, layers):
        torch = lm.torch
        ids = lm.prompt_ids(messages)
        if reply:
            ids = ids + lm.encode(reply)
        lm.check_length(self.name, len(ids))
        with lm.lock, torch.inference_mode():
            out = lm.model(input_ids=torch.tensor([ids], dtype=torch.long, device=lm.device), output_hidden_states=True)
            # the last position of each layer, each moved to host memory as it is taken
            stacked = torch.stack([h[0, -1].float().cpu() for h in out.hidden_states])
            del out
        total = stacked.shape[0]
        if layers is not None:
            layers = list(layers)
            bad = [i for i in layers if not -total <= i < total]
            if bad:
                raise ConfigError(f"{self.name}: layer {bad[0]} out of range; the model has {total} hidden-state rows (0..{total - 1})")
            stacked = stacked[layers]
        return stacked.numpy()


def read_chat_template(path: str | Path | None) -> str | None:
    """The text of a chat template file (Jinja), or None; ``$IMPROV_CHAT_TEMPLATE`` when no
    path is given."""
    path = path or os.environ.get("IMPROV_CHAT_TEMPLATE") or None
    if path is None:
        return None
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"chat template {file}: cannot be read ({type(err).__name__}: {err})") from None
    if not text.strip():
        raise ConfigError(f"chat template {file} is empty")
    return text


def create(rest: str, chat_template: str | None = None, device: str | None = None, dtype: str | None = None) -> HFBackend:
    if not rest.strip():
        raise ConfigError("hf needs a model: hf/<dir>, hf/<file.gguf> or hf/<org>/<name>")
    return HFBackend(rest, name=f"hf/{rest}", chat_template=chat_template or read_chat_template(None),
                     device=device, dtype=dtype)


__all__ = ["HFBackend", "create", "load", "check_model_dir", "read_chat_template", "DEFAULT_MAX_TOKENS"]
