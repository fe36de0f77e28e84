"""Train the built-in model from scratch on CPU: seeded, resumable, by recipe or time-budgeted.

``train(TrainConfig(...), on_step=callback) -> TrainResult``. By default a run follows the recipe
that made the shipped weights (``organism.recipe.SHIPPED``: stages by step, each with its corpus
mix, soft-target weight and learning rate); ``steps``/``minutes`` make a custom run with one
schedule. The output directory holds the model (``save_pretrained``: config.json,
model.safetensors, generation_config.json), the tokenizer (tokenizer.json, tokenizer_config.json
with the chat template), ``training.json`` (the recipe and its stages, the settings, and each
invocation's steps) and ``checkpoint/`` (full-precision weights, optimizer state and step, for
``resume``; a resumed recipe run continues in the stage of its step).

What made it learn (measured on this 2-core CPU, see the session notes): 8 attention heads
rather than 4 (with 4, retrieving the country named in the question stayed at chance for 800+
steps on most seeds); a first stage rich in short fact questions (retrieval formed by ~1,000
steps); fitting the known distribution of every stochastic reply (``choices``) rather than one
draw; fp32 (bf16 autocast was 1.6x faster per step but learned no retrieval in 800 steps); a
peak lr of 1e-3 with the object table warmed up on a few objects (``attribute_few``): at 3e-3 the
model answered every table question from the attribute's base rate, whatever the object.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from improv.organism.paths import MODEL_DIR
from improv.organism.recipe import Recipe


def default_out() -> str:
    """A new folder per run under the data dir: a training run must never replace the shipped
    weights (or an earlier run) unless asked to."""
    import time

    from improv.personas.storage import data_dir

    return str(data_dir() / "organism" / time.strftime("train-%Y%m%d-%H%M%S"))


def writes_shipped_model(out: str | Path) -> bool:
    return Path(out).resolve() == MODEL_DIR.resolve()


class TrainConfig(BaseModel):
    """A run is either a *recipe* (stages by step: organism.recipe; the shipped one by default) or a
    *custom* run (``steps`` and/or ``minutes``, with ``corpus_mix``, ``soft_weight``, ``lr`` ...).
    With neither, a new run follows organism.recipe.SHIPPED and a resumed run continues as its
    checkpoint was made (the recipe, or the custom settings it recorded)."""

    out: str = Field(default_factory=default_out)
    overwrite_shipped: bool = False  # out may be the shipped model directory only when this is set
    recipe: Recipe | None = None  # stages by step; excludes steps/minutes/corpus_mix
    steps: int | None = None  # total optimizer steps (schedule length); None: derive from minutes
    minutes: float | None = None  # wall-time budget; training stops and saves when it runs out
    resume: bool = False
    command: str | None = None  # how the run was started, recorded in training.json's history
    seed: int = 0
    batch_size: int = 32
    # 1e-3, not 3e-3: at 3e-3 the object x attribute lookup never formed (6 objects: P(correct)
    # at the base rate after 600 steps); at 1e-3 it reached 0.98 in 600
    lr: float = 1e-3
    min_lr_ratio: float = 0.05
    warmup: int = 100
    weight_decay: float = 0.05
    hidden_size: int = 256
    intermediate_size: int = 768
    layers: int = 4
    # 8 heads of 32: with 4 of 64, finding the country named in the question stayed at chance for
    # 800+ steps on most seeds; with 8 it was learned in 600 (P(copy) 0.98)
    heads: int = 8
    vocab_size: int = 2048
    tokenizer_samples: int = 20000
    checkpoint_every: int = 200
    threads: int = 2
    corpus_mix: dict[str, float] | None = None  # None: organism.corpus.MIX
    # a first stage with short fact questions, so retrieval from the context forms early;
    # it covers the first `first_stage` share of the steps (or of the time budget)
    first_stage: float = 0.2
    first_stage_mix: dict[str, float] | None = None  # None: organism.corpus.FIRST_STAGE_MIX
    # autocast matmuls to bfloat16: 1.3-1.6x faster per step here, but a 4-head facts-only run from
    # scratch learned nothing in 800 steps (fp32: P(true capital) 0.16); continuing the trained
    # 8-head model, 30 steps gave the same losses as fp32 (0.199 -> 0.186)
    bf16: bool = False
    fp16: bool = True
    # weight of the positions with a known distribution (soft targets: 20 Questions answers and
    # reveals, invented capitals, introspection answers) against one-hot positions. A reveal is
    # 2 soft positions in a game of ~80 hard ones; at 10 the uncommitted reveals narrowed 1.6-1.8x
    # as fast as at 1 (teacher-forced fit gained over 600 fine-tuning steps)
    soft_weight: float = 1.0

    def custom(self) -> bool:
        return self.steps is not None or self.minutes is not None


class StepInfo(BaseModel):
    step: int
    total: int
    loss: float
    lr: float
    elapsed: float
    tokens: int
    stage: str | None = None  # the recipe stage that trained this step


class TrainResult(BaseModel):
    out: str
    steps: int
    total_steps: int
    final_loss: float
    elapsed: float
    parameters: int
    tokens: int
    stopped_early: bool
    recipe: str | None = None  # the recipe's name; None for a custom run
    stage: str | None = None  # the stage of the last step trained
    interrupted: bool = False  # stopped by Ctrl-C after a checkpoint; resume with resume=True


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: the step in progress was finished and checkpointed."""

    def __init__(self, result: TrainResult):
        super().__init__(f"interrupted at step {result.steps}")
        self.result = result


CHUNK = 8  # batches generated together (bucketed by length)


def _soft_targets(tok, message: dict, content: list[int], end: int, start: int) -> list[tuple]:
    """Per-position target distributions for a reply drawn from ``message["choices"]``.

    At each token of the sampled reply the target is the next-token distribution of the choices
    that share the prefix so far (a walk down their token trie): exactly what the sampling process
    would emit, so the model fits the distribution rather than one draw from it.
    """
    texts = list(message["choices"])
    weights = list(message["choices"].values())
    seqs = [c + [end] for c in tok(texts, add_special_tokens=False)["input_ids"]]
    target = content + [end]
    alive = list(range(len(seqs)))
    out = []
    for k, token in enumerate(target):
        mass: dict[int, float] = {}
        for i in alive:
            if len(seqs[i]) > k:
                mass[seqs[i][k]] = mass.get(seqs[i][k], 0.0) + weights[i]
        total = sum(mass.values())
        if token not in mass or total <= 0:
            raise ValueError(f"sampled reply {message['content']!r} is not among its choices")
        if len(mass) > 1:
            out.append((start + k, list(mass), [m / total for m in mass.values()]))
        alive = [i for i in alive if len(seqs[i]) > k and seqs[i][k] == token]
    return out


def encode_example(tok, ex: list[dict], special: dict[str, int]) -> tuple[list[int], list[int], list[tuple]]:
    """Token ids, hard labels (-100 where no loss) and soft targets [(position, tokens, probs)].

    A position with a soft target has label -100; its loss is the cross-entropy against the
    distribution instead."""
    ids: list[int] = []
    labels: list[int] = []
    soft: list[tuple] = []
    contents = tok([m["content"] for m in ex], add_special_tokens=False)["input_ids"]
    end = special["<|end|>"]
    for m, c in zip(ex, contents):
        head = [special[f"<|{m['role']}|>"]]
        start = len(ids) + 1
        ids += head + c + [end]
        if m["role"] == "assistant":
            lab = c + [end]
            if m.get("choices"):
                for pos, _, _ in (targets := _soft_targets(tok, m, c, end, start)):
                    lab[pos - start] = -100
                soft += targets
            labels += [-100] + lab
        else:
            labels += [-100] * (len(c) + 2)
    return ids, labels, soft


def _chunk_batches(tok, special, seed: int, chunk: int, batch_size: int, mix, max_len: int = 256):
    """The CHUNK batches of one chunk, deterministic in (seed, chunk)."""
    import random

    from improv.organism.corpus import stream

    it = stream(seed * 1_000_003 + chunk, mix)
    encoded = []
    for _ in range(CHUNK * batch_size):
        _, ex = next(it)
        ids, labels, soft = encode_example(tok, ex, special)
        encoded.append((ids[:max_len], labels[:max_len], [s for s in soft if s[0] < max_len]))
    encoded.sort(key=lambda x: len(x[0]))
    batches = [encoded[i * batch_size:(i + 1) * batch_size] for i in range(CHUNK)]
    random.Random(chunk).shuffle(batches)
    return batches


def collate(batch, pad_id: int):
    """Padded ids, labels, attention mask and the soft targets as flat index/probability tensors."""
    import torch

    n = max(len(x[0]) for x in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    lab = torch.full((len(batch), n), -100, dtype=torch.long)
    att = torch.zeros((len(batch), n), dtype=torch.long)
    rows, cols, toks, probs = [], [], [], []
    for i, (a, b, soft) in enumerate(batch):
        ids[i, : len(a)] = torch.tensor(a)
        lab[i, : len(b)] = torch.tensor(b)
        att[i, : len(a)] = 1
        for pos, ts, ps in soft:
            rows += [i] * len(ts)
            cols += [pos] * len(ts)
            toks += ts
            probs += ps
    soft = (torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long),
            torch.tensor(toks, dtype=torch.long), torch.tensor(probs, dtype=torch.float32),
            sum(len(x[2]) for x in batch))
    return ids, lab, att, soft


def batch_loss(model, ids, lab, att, soft, soft_weight: float = 1.0):
    """Mean cross-entropy over every target position, hard labels and soft targets alike; soft
    positions count ``soft_weight`` times."""
    import torch

    logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    target = lab[:, 1:]
    mask = target != -100
    hard = -logp[mask].gather(1, target[mask].unsqueeze(1)).sum()
    rows, cols, toks, probs, n_soft = soft
    # the token at position p is predicted from position p - 1
    soft_sum = -(probs * logp[rows, cols - 1, toks]).sum() if len(rows) else logits.new_zeros(())
    return (hard + soft_weight * soft_sum) / max(1, int(mask.sum()) + n_soft)


def build_model(cfg: TrainConfig, tok):
    from transformers import LlamaConfig, LlamaForCausalLM

    mc = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.heads,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    return LlamaForCausalLM(mc)


def lr_at(step: int, total: int, cfg: TrainConfig, frac: float | None = None) -> float:
    """Linear warm-up then cosine decay; frac (share of the time budget used) replaces step/total
    when training by wall time, so the schedule anneals exactly when the budget runs out."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if frac is None:
        frac = (step - cfg.warmup) / max(1, total - cfg.warmup)
    frac = min(1.0, max(0.0, frac))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def save_model(model, tok, out: Path, fp16: bool) -> None:
    """Write the run's model files into ``out``: saved whole into a hidden folder beside them, then
    each moved over its old version, so a kill mid-save never leaves a truncated file."""
    import copy
    import os

    import torch
    from transformers import GenerationConfig

    from improv.agents.providers.hf_export import write_model_folder

    out.mkdir(parents=True, exist_ok=True)
    m = copy.deepcopy(model).to(torch.float16) if fp16 else model
    m.generation_config = GenerationConfig(
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        max_new_tokens=48,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    staging = write_model_folder(m, tok, out / f".model-{os.getpid()}")
    if fp16:
        # weights are stored in fp16 to keep the file small; compute in fp32 on CPU
        cfg_path = staging / "config.json"
        conf = json.loads(cfg_path.read_text())
        conf["dtype"] = "float32"
        cfg_path.write_text(json.dumps(conf, indent=2) + "\n")
    for path in staging.iterdir():
        os.replace(path, out / path.name)
    staging.rmdir()


# what a resumed run takes from its checkpoint when it is given no schedule of its own
SCHEDULE_FIELDS = ("recipe", "steps", "minutes", "corpus_mix", "first_stage", "first_stage_mix", "soft_weight",
                   "lr", "min_lr_ratio", "warmup")


def saved_checkpoint(out: str | Path) -> Path | None:
    """The folder of the last complete checkpoint in a run folder, if any (``checkpoint.old`` is the
    previous one, kept only for the instant a new one is renamed into place)."""
    for name in ("checkpoint", "checkpoint.old"):
        if (Path(out) / name / "state.pt").exists():
            return Path(out) / name
    return None


def _write_checkpoint(ckpt: Path, model, tok, state: dict) -> None:
    """Write the checkpoint beside the old one and swap it in, so a kill at any moment leaves one
    complete checkpoint (weights, tokenizer and optimizer state of the same step)."""
    import shutil
    import tempfile

    import torch

    staging = Path(tempfile.mkdtemp(prefix=".checkpoint.", dir=ckpt.parent))
    old = ckpt.with_name("checkpoint.old")
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tok.save_pretrained(str(staging))
        torch.save(state, staging / "state.pt")
        if ckpt.exists():
            shutil.rmtree(old, ignore_errors=True)
            ckpt.rename(old)
        staging.rename(ckpt)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _continued(cfg: TrainConfig, saved: dict) -> TrainConfig:
    """A resume given no schedule continues the checkpoint's own: its recipe, or its custom settings."""
    if cfg.recipe is not None or cfg.custom():
        return cfg
    update = {k: saved[k] for k in SCHEDULE_FIELDS if k in saved}
    if update.get("recipe") is not None:
        update["recipe"] = Recipe.model_validate(update["recipe"])
    return cfg.model_copy(update=update)


class _StopOnSigint:
    """The first Ctrl-C asks the loop to stop after the step in progress (then it checkpoints); a
    second one interrupts at once. Only in the main thread, where Python delivers signals."""

    def __init__(self):
        self.requested = False
        self._installed = False
        self._previous = None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum, frame):
        import signal

        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc):
        import signal

        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)
        return False


def train(cfg: TrainConfig, on_step: Callable[[StepInfo], None] | None = None) -> TrainResult:
    """Train (or continue) a run into ``cfg.out``; see TrainConfig for recipe and custom runs.

    Ctrl-C finishes the step in progress, writes a checkpoint and raises TrainingInterrupted
    (carrying the result so far); ``resume=True`` continues from there, in the right stage."""
    from transformers import AutoTokenizer

    from improv.agents.errors import ConfigError
    from improv.agents.providers.hf import import_torch_transformers
    from improv.organism.tokenizer import train_tokenizer

    torch, _ = import_torch_transformers()  # quiet: no progress bars over the step lines
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    if writes_shipped_model(out) and not cfg.overwrite_shipped:
        raise ConfigError(f"--out {out}: is the shipped model; pass --overwrite-shipped to replace it, or choose another --out")
    found = saved_checkpoint(out)
    if cfg.resume and found is None:
        raise ConfigError(f"--out {out}: no checkpoint to resume ({out / 'checkpoint' / 'state.pt'} is missing)")
    if not cfg.resume and found is not None:
        raise ConfigError(f"--out {out}: already holds a training run; pass --resume to continue it, or choose "
                          "another --out")
    ckpt = out / "checkpoint"
    state = None
    if cfg.resume:
        tok = AutoTokenizer.from_pretrained(str(found))
        from transformers import LlamaForCausalLM

        model = LlamaForCausalLM.from_pretrained(str(found), dtype=torch.float32)
        state = torch.load(found / "state.pt", weights_only=False)
        cfg = _continued(cfg, state.get("config", {}))
    else:
        if not cfg.custom() and cfg.recipe is None:
            from improv.organism.recipe import SHIPPED

            cfg = cfg.model_copy(update={"recipe": SHIPPED})
    recipe = cfg.recipe
    if recipe is not None and (cfg.custom() or cfg.corpus_mix is not None):
        raise ConfigError("a recipe run takes its steps, mix and schedule from the recipe: steps, minutes and "
                          "corpus_mix are for a custom run")
    if not cfg.resume:
        out.mkdir(parents=True, exist_ok=True)
        tok = train_tokenizer(cfg.vocab_size, cfg.tokenizer_samples, cfg.seed)
        model = build_model(cfg, tok)
    special = {t: tok.convert_tokens_to_ids(t) for t in ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]}
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.98),
    )
    step = 0
    total = recipe.total if recipe is not None else cfg.steps
    tokens = 0
    prior_elapsed = 0.0
    history: list[dict] = []
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        step = state["step"]
        tokens = state.get("tokens", 0)
        prior_elapsed = state.get("elapsed", 0.0)
        history = list(state.get("history", []))
    run = {"command": cfg.command,
           "schedule": f"recipe {recipe.name}" if recipe is not None else
           f"custom: steps {cfg.steps}, minutes {cfg.minutes}, soft weight {cfg.soft_weight}, mix "
           f"{'default' if cfg.corpus_mix is None else cfg.corpus_mix}",
           "started_at_step": step, "stopped_at_step": step, "elapsed_seconds": round(prior_elapsed, 1)}
    history.append(run)
    start = time.time()
    deadline = start + cfg.minutes * 60 - prior_elapsed if cfg.minutes else None
    model.train()
    loss_ema = None
    warm_end = state.get("warm_end") if state is not None else None
    batches: list = []
    batches_mix: dict | None = None
    stage = recipe.stage_at(max(0, step - 1)) if recipe is not None else None
    stopped_early = False
    params = sum(p.numel() for p in model.parameters())

    def record() -> TrainResult:
        elapsed = prior_elapsed + time.time() - start
        run.update(stopped_at_step=step, elapsed_seconds=round(elapsed, 1))
        return TrainResult(out=str(out), steps=step, total_steps=total or step, final_loss=float(loss_ema or 0.0),
                           elapsed=elapsed, parameters=params, tokens=tokens, stopped_early=stopped_early,
                           recipe=recipe.name if recipe is not None else None,
                           stage=stage.name if stage is not None else None)

    def checkpoint() -> TrainResult:
        result = record()
        config = cfg.model_dump(exclude={"recipe"})
        config["recipe"] = recipe.model_dump() if recipe is not None else None
        _write_checkpoint(ckpt, model, tok, {"optimizer": opt.state_dict(), "step": step, "total": total,
                                             "tokens": tokens, "elapsed": result.elapsed, "warm_end": warm_end,
                                             "config": config, "history": history})
        save_model(model, tok, out, cfg.fp16)
        from improv.personas.storage import atomic_write

        atomic_write(out / "training.json", json.dumps({
            "steps": step, "total_steps": total, "final_loss": loss_ema, "elapsed_seconds": round(result.elapsed, 1),
            "tokens": tokens, "parameters": params,
            "recipe": None if recipe is None else {
                "name": recipe.name, "total_steps": recipe.total, "minutes_on_2_cores": recipe.minutes_on_2_cores,
                "stages": recipe.describe()},
            "config": cfg.model_dump(exclude={"recipe"}), "history": history,
        }, indent=2) + "\n")
        return result

    with _StopOnSigint() as sigint:
        while True:
            if total is not None and step >= total:
                break
            if deadline is not None and time.time() >= deadline:
                stopped_early = total is not None and step < total
                break
            if sigint.requested:
                break
            if recipe is not None:
                stage = recipe.stage_at(step)
                mix, soft_weight = stage.mix, stage.soft_weight
                lr = stage.lr_at(step)
                if batches_mix != mix:  # a new stage starts mid-chunk with its own mix
                    batches = []
            if not batches:
                if recipe is None:
                    from improv.organism.corpus import FIRST_STAGE_MIX, MIX

                    progress = step / total if total else (prior_elapsed + time.time() - start) / ((cfg.minutes or 10) * 60)
                    first = progress < cfg.first_stage
                    mix = (cfg.first_stage_mix or FIRST_STAGE_MIX) if first else (cfg.corpus_mix or MIX)
                batches = _chunk_batches(tok, special, cfg.seed, step // CHUNK, cfg.batch_size, mix)
                batches = batches[step % CHUNK:]
                batches_mix = mix
            ids, lab, att, soft = collate(batches.pop(0), tok.pad_token_id)
            if recipe is None:
                soft_weight = cfg.soft_weight
                frac = None
                if total is None:
                    # by wall time: the cosine runs over the budget left after warm-up
                    budget = (cfg.minutes or 10) * 60
                    used = prior_elapsed + time.time() - start
                    if step == cfg.warmup or warm_end is None and step > cfg.warmup:
                        warm_end = used
                    frac = 0.0 if warm_end is None else (used - warm_end) / max(1.0, budget - warm_end)
                lr = lr_at(step, total or 10**9, cfg, frac)
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                loss = batch_loss(model, ids, lab, att, soft, soft_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tokens += int(att.sum())
            lv = float(loss.detach())
            loss_ema = lv if loss_ema is None else 0.95 * loss_ema + 0.05 * lv
            if on_step:
                on_step(StepInfo(step=step, total=total or 0, loss=loss_ema, lr=lr,
                                 elapsed=prior_elapsed + time.time() - start, tokens=tokens,
                                 stage=stage.name if stage is not None else None))
            if step % cfg.checkpoint_every == 0:
                checkpoint()
        if sigint.requested and not (total is not None and step >= total):
            stopped_early = True
            result = checkpoint().model_copy(update={"interrupted": True})
            raise TrainingInterrupted(result)
        return checkpoint()
