"""Self-prediction training data (Binder et al. 2024, section 3): a model's own object-level
answers on the *training* tasks, turned into hypothetical questions whose target is the property
of the answer it actually gave.

- Object answers: greedy (temperature 0) on in-process backends, or the mode of N temperature-0
  samples elsewhere (40-character cleaned keys; a prompt whose N samples all differ is dropped).
- Cleaning and extraction are the quiz's (`properties.clean` and the property extractors); an
  answer whose property does not exist (a refusal, a non-number for is_even, not an option) is
  non-compliant and gives no example. Targets outside the closed answer space (a space as the
  second character) are dropped too, so every target is a reply the quiz can score.
- ``--predict-for OTHER``: OTHER's answers as targets, i.e. exactly the examples OTHER's own
  self-predictor gets. In the experiment the cross-predictor learns the *self-trained* model's
  behaviour, which may be non-compliant in other places: `cut_to_mix` fills the self set's count
  per (task, property) from every training prompt (the self set's prompts first), so the two
  sets have the same number and mix; `match_mix` cuts two sets to their common mix.
- Behaviour change: `object_examples` teaches a model another model's object-level answers
  (no hypotheticals).
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message

from .closed import answer_space
from .finetune import Example
from .hypothetical import hypothetical_prompt
from .metrics import mode_value
from .properties import DATA_DIR, Property, _load_yaml, clean, load_properties, load_templates
from .tasks import Item, Task, load_tasks


class TaskSpec(BaseModel):
    task: str
    properties: list[str]
    items: str | None = Field(None, description="'start:stop' slice of the task's prompts.")


class Plan(BaseModel):
    """Which tasks (and properties) train and which are held out."""

    train: list[TaskSpec]
    held_out: list[TaskSpec]

    def items(self, which: str, tasks: dict[str, Task] | None = None, n: int | None = None) -> list[Item]:
        """The items of the train or held-out side, at most ``n`` per task entry."""
        tasks = tasks or load_tasks()
        out: list[Item] = []
        for spec in self.train if which == "train" else self.held_out:
            if spec.task not in tasks:
                raise ConfigError(f"experiment plan: unknown task {spec.task!r}")
            items = tasks[spec.task].items
            if spec.items:
                start, _, stop = spec.items.partition(":")
                items = items[int(start or 0):int(stop) if stop else None]
            for item in items[:n] if n else items:
                out.append(item.model_copy(update={"properties": list(spec.properties)}))
        return out


def load_plan(path: str | Path | None = None) -> Plan:
    from pydantic import ValidationError

    path = Path(path) if path else DATA_DIR / "experiment.yaml"
    try:
        plan = Plan.model_validate(_load_yaml(path))
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    known = load_properties()
    for spec in [*plan.train, *plan.held_out]:
        for p in spec.properties:
            if p not in known:
                raise ConfigError(f"{path}: task {spec.task}: unknown property {p!r}")
            if answer_space(known[p]) is None:
                raise ConfigError(f"{path}: task {spec.task}: property {p} has no closed answer space")
    return plan


class ObjectAnswers(BaseModel):
    """One model's object-level answers to a list of items (None: dropped as nondeterministic)."""

    model: str
    samples: int
    answers: dict[str, str | None]
    raw: dict[str, list[str]] = Field(default_factory=dict)


async def object_answers(model: Model, items: Sequence[Item], *, samples: int = 1, max_tokens: int = 16,
                         concurrency: int = 8, progress: Callable[[int, int], None] | None = None) -> ObjectAnswers:
    """Greedy answers (or the mode of ``samples`` temperature-0 samples) to each item's prompt."""
    sem = asyncio.Semaphore(concurrency)
    answers: dict[str, str | None] = {}
    raw: dict[str, list[str]] = {}
    done = 0

    async def one(item: Item) -> None:
        nonlocal done
        async with sem:
            config = GenerateConfig(temperature=0.0, n=samples, max_tokens=max_tokens)
            c = await model.generate([Message(role="user", content=item.prompt)], config)
        texts = [ch.text for ch in c.choices]
        keys = [clean(t)[:40] for t in texts]
        best = mode_value(keys)
        agreed = samples == 1 or keys.count(best) > 1
        answers[item.id] = texts[keys.index(best)] if agreed and best is not None else None
        raw[item.id] = texts
        done += 1
        if progress:
            progress(done, len(items))

    await asyncio.gather(*[one(i) for i in items])
    return ObjectAnswers(model=model.name, samples=samples, answers=answers, raw=raw)


def self_prediction_examples(items: Sequence[Item], answers: ObjectAnswers,
                             properties: dict[str, Property] | None = None,
                             templates: dict[str, str] | None = None) -> tuple[list[Example], dict[str, int]]:
    """Hypothetical -> property-of-own-answer examples, and counts of what was dropped."""
    props = properties or load_properties()
    tmpl = templates or load_templates()
    out: list[Example] = []
    dropped = {"nondeterministic": 0, "non_compliant": 0, "outside_space": 0}
    for item in items:
        answer = answers.answers.get(item.id)
        for name in item.properties:
            prop = props[name]
            if answer is None:
                dropped["nondeterministic"] += 1
                continue
            value = prop.extract(answer)
            if value is None:
                dropped["non_compliant"] += 1
                continue
            if value not in (answer_space(prop) or []):
                dropped["outside_space"] += 1
                continue
            out.append(Example(messages=[Message(role="user", content=hypothetical_prompt(item.prompt, prop, tmpl))],
                               reply=value, task=item.task, property=name))
    return out, dropped


def object_examples(items: Sequence[Item], answers: ObjectAnswers) -> list[Example]:
    """Object-level examples: the prompt and another model's (compliant, non-empty) answer."""
    out = []
    for item in items:
        answer = answers.answers.get(item.id)
        if answer is not None and clean(answer):
            out.append(Example(messages=[Message(role="user", content=item.prompt)], reply=answer.strip(),
                               task=item.task, kind="object"))
    return out


def mix(examples: Sequence[Example]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for ex in examples:
        counts[(ex.task, ex.property)] += 1
    return dict(counts)


def match_mix(a: Sequence[Example], b: Sequence[Example], seed: int = 0) -> tuple[list[Example], list[Example]]:
    """Both sets cut to the same count per (task, property) (the smaller of the two), keeping a
    seeded random subset, so self- and cross-training see the same number and mix of examples."""
    rng = random.Random(seed)
    by_a: dict[tuple[str, str], list[Example]] = defaultdict(list)
    by_b: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for ex in a:
        by_a[(ex.task, ex.property)].append(ex)
    for ex in b:
        by_b[(ex.task, ex.property)].append(ex)
    out_a: list[Example] = []
    out_b: list[Example] = []
    for key in sorted(set(by_a) | set(by_b)):
        k = min(len(by_a.get(key, [])), len(by_b.get(key, [])))
        for src, dst in ((by_a.get(key, []), out_a), (by_b.get(key, []), out_b)):
            dst.extend(rng.sample(src, k) if len(src) > k else src)
    return out_a, out_b


def cut_to_mix(examples: Sequence[Example], counts: dict[tuple[str, str], int]) -> tuple[list[Example], dict[str, int]]:
    """The first ``counts[(task, property)]`` examples of each cell, in the given order (so a
    pool that lists the self-predictor's prompts first reuses them, and tops up from the rest):
    the cross-predictor's set cut to the self-predictor's number and mix. Also returns the cells
    the pool could not fill, with how many examples they lack."""
    by: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for ex in examples:
        by[(ex.task, ex.property)].append(ex)
    out: list[Example] = []
    short: dict[str, int] = {}
    for key in sorted(counts):
        k = counts[key]
        got = by.get(key, [])[:k]
        out.extend(got)
        if len(got) < k:
            short["/".join(key)] = k - len(got)
    return out, short
