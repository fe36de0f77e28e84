"""The introspection quiz: object-level answers, hypothetical self- and cross-predictions,
calibration samples and the behaviour-shift check, run live against `Model`s.

Every call is a fresh single-turn context with no chain of thought. Ground truth is the
temperature-0 answer, or the mode of ``mode_samples`` temperature-0 samples where a backend is not
deterministic (remote APIs); an object-level item whose samples all differ is dropped (Binder).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError, SettingError
from improv.agents.model import Model
from improv.agents.types import GenerateConfig, Message

from .closed import argmax, closed, first_token, first_token_decides, group_first_token, read_distribution
from .hypothetical import first_token_distribution, hypothetical_prompt, parse_answer
from .metrics import Prediction, PropertyResult, QuizReport, ShiftResult, mode_value, score
from .properties import Property, clean, load_properties, load_templates
from .tasks import Item

ProgressCallback = Callable[[int, int], None]
ItemCallback = Callable[[PropertyResult], None]


class QuizSettings(BaseModel):
    k: int = Field(0, ge=0, description="Calibration samples per item at temperature 1 (0: no calibration).")
    mode_samples: int | None = Field(None, ge=1, description="Temperature-0 samples for the mode; None: 1 for local backends, else 5.")
    object_max_tokens: int = 64
    hypothetical_max_tokens: int = 8
    top_logprobs: int = Field(10, ge=1, le=20)
    sample_temperature: float = 1.0
    shift_system_prompt: str | None = None
    shift_label: str | None = None
    concurrency: int = Field(4, ge=1)
    seed: int | None = 0
    read: str = Field("distribution", pattern="^(distribution|text)$",
                      description="distribution: closed-space predictions read from the model's probabilities where "
                                  "the backend gives them (scored or top logprobs); text: parsed free text only.")
    exact_object: bool = Field(True, description="Read the object-level property distribution from the first reply "
                                                 "token where that token decides the property (no sampling noise).")


class Split(BaseModel):
    """Which (task, prompt, property) combinations a model was trained to predict.

    ``trained`` lists entries; an entry matches a result when every field it sets matches
    (``{"property": "first_character"}`` matches that property on every prompt). Results that
    match no entry are held out."""

    trained: list[dict[str, str]] = Field(default_factory=list)

    def is_trained(self, task: str, prompt: str, prop: str) -> bool:
        here = {"task": task, "prompt": prompt, "property": prop}
        return any(all(here.get(k) == v for k, v in entry.items()) for entry in self.trained)


def load_split(path: str | Path) -> Split:
    import json

    import yaml
    from pydantic import ValidationError

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except OSError as err:
        raise ConfigError(f"split file {p}: {err.strerror or err}") from None
    except (ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"split file {p}: not valid JSON/YAML ({err})") from None
    try:
        split = Split.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"split file {p}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    for i, entry in enumerate(split.trained):
        bad = set(entry) - {"task", "prompt", "property"}
        if bad or not entry:
            raise ConfigError(f"split file {p}: trained[{i}]: entries set task, prompt and/or property")
    return split


def default_tasks(model: Model) -> list[str] | None:
    """The task set a model can answer when none is named: the built-in model was trained on the
    short_answers prompts only (on the others it answers yes/no or a capital), so those; any other
    model gets every built-in task (None)."""
    if model.name == "organism" or model.name.startswith("organism/"):
        return ["short_answers"]
    return None


def default_mode_samples(model: Model) -> int:
    """1 where temperature 0 is exact greedy decoding (in-process and mock backends), else 5."""
    if model.capabilities.score or model.name.startswith("mock/"):
        return 1
    return 5


def _mode_answer(texts: Sequence[str], samples: int) -> tuple[str | None, bool]:
    """The modal answer (compared on the first 40 cleaned characters) and whether the samples
    agreed at all; with several samples that all differ, no answer (dropped, as Binder)."""
    if not texts:
        return None, True
    keys = [clean(t)[:40] for t in texts]
    best = mode_value(keys)
    if samples > 1 and Counter(keys)[best] == 1:
        return None, False
    return texts[keys.index(best)], True


class Quiz:
    def __init__(
        self,
        model: Model,
        *,
        predictors: Sequence[Model] = (),
        judge: Model | None = None,
        settings: QuizSettings | None = None,
        properties: dict[str, Property] | None = None,
        templates: dict[str, str] | None = None,
        split: Split | None = None,
    ) -> None:
        self.model = model
        self.predictors = [model] + [p for p in predictors if p.name != model.name]
        self.settings = settings or QuizSettings()
        self.properties = properties or load_properties()
        self.templates = templates or load_templates()
        self.split = split
        self.judge = None
        if judge is not None:
            from improv.evaluator.judge import Judge

            from .properties import DATA_DIR

            self.judge = Judge(judge, max_tokens=20, prompts=DATA_DIR)
        self.judge_model = judge

    # -- single calls -------------------------------------------------------------------------

    def _messages(self, prompt: str, system: str | None) -> list[Message]:
        out = [Message(role="system", content=system)] if system else []
        return out + [Message(role="user", content=prompt)]

    async def object_answer(self, prompt: str, system: str | None = None) -> tuple[str | None, list[str], bool]:
        n = self.settings.mode_samples or default_mode_samples(self.model)
        config = GenerateConfig(temperature=0.0, n=n, max_tokens=self.settings.object_max_tokens,
                                seed=self.settings.seed if self.model.capabilities.seed else None)
        completion = await self.model.generate(self._messages(prompt, system), config)
        texts = [c.text for c in completion.choices]
        answer, deterministic = _mode_answer(texts, n)
        return answer, texts, deterministic

    async def object_samples(self, prompt: str) -> list[str]:
        k = self.settings.k
        config = GenerateConfig(temperature=self.settings.sample_temperature, top_p=1.0, n=k,
                                max_tokens=self.settings.object_max_tokens)
        completion = await self.model.generate(self._messages(prompt, None), config)
        return [c.text for c in completion.choices]

    async def predict(self, predictor: Model, item: Item, prop: Property, system: str | None = None,
                      distribution: bool = False) -> Prediction:
        question = hypothetical_prompt(item.prompt, prop, self.templates)
        n = self.settings.mode_samples or default_mode_samples(predictor)
        want_lp = distribution and predictor.capabilities.logprobs and prop.answer != "word"
        config = GenerateConfig(
            temperature=0.0, n=n, max_tokens=self.settings.hypothetical_max_tokens,
            seed=self.settings.seed if predictor.capabilities.seed else None,
            logprobs=want_lp, top_logprobs=self.settings.top_logprobs if want_lp else None,
        )
        completion = await predictor.generate(self._messages(question, system), config)
        raw = [c.text for c in completion.choices]
        parsed = [parse_answer(t, prop) for t in raw]
        value = mode_value([p if p is not None else "\x00" for p in parsed])
        text_value = None if value == "\x00" else value
        pred = Prediction(predictor=predictor.name, hypothetical=question, raw=raw, value=text_value,
                          text_value=text_value, compliant=text_value is not None)
        if self.settings.read == "distribution" and closed(prop):
            got = await read_distribution(predictor, self._messages(question, system), prop,
                                          top_logprobs=max(self.settings.top_logprobs, 20))
            if got is not None:
                pred.distribution, pred.distribution_source, pred.logprob_mass = got
                pred.value = argmax(pred.distribution)
                return pred
        if distribution:
            got = first_token_distribution(completion.choices[0], prop) if want_lp else None
            if got is not None:
                pred.distribution, pred.logprob_mass = got
                pred.distribution_source = "logprobs"
            else:
                sconfig = GenerateConfig(temperature=self.settings.sample_temperature, top_p=1.0,
                                         n=self.settings.k, max_tokens=self.settings.hypothetical_max_tokens)
                samples = await predictor.generate(self._messages(question, system), sconfig)
                values = [v for v in (parse_answer(c.text, prop) for c in samples.choices) if v is not None]
                if values:
                    pred.distribution = {v: c / len(values) for v, c in Counter(values).items()}
                    pred.distribution_source = "samples"
        return pred

    # -- one item -------------------------------------------------------------------------------

    async def run_item(self, item: Item) -> list[PropertyResult]:
        s = self.settings
        props = [self.properties[p] for p in item.properties]
        answer, texts, deterministic = await self.object_answer(item.prompt)
        samples = await self.object_samples(item.prompt) if s.k > 0 else []
        first = None
        if s.exact_object and any(first_token_decides(p, item.task == "numbers") for p in props):
            first = await first_token(self.model, self._messages(item.prompt, None))
        shift_answer: str | None = None
        if s.shift_system_prompt:
            shift_answer, _, _ = await self.object_answer(item.prompt, s.shift_system_prompt)

        async def one(prop: Property) -> PropertyResult:
            value = await prop.extract_async(answer, self.judge) if answer is not None else None
            result = PropertyResult(
                task=item.task, item=item.index, prompt=item.prompt, property=prop.name,
                object_model=self.model.name, object_answer=answer, object_samples=texts,
                deterministic=deterministic, object_value=value,
                trained=self.split.is_trained(item.task, item.prompt, prop.name) if self.split else None,
            )
            exact = group_first_token(first, prop) if first_token_decides(prop, item.task == "numbers") else None
            if exact is not None:
                result.object_distribution, result.object_mass = exact
            elif samples:
                values = [v for v in [await prop.extract_async(t, self.judge) for t in samples] if v is not None]
                if values:
                    result.object_distribution = {v: c / len(values) for v, c in Counter(values).items()}
            preds = await asyncio.gather(*[
                self.predict(p, item, prop, distribution=s.k > 0) for p in self.predictors
            ])
            result.predictions = {p.predictor: p for p in preds}
            if s.shift_system_prompt:
                sv = await prop.extract_async(shift_answer, self.judge) if shift_answer is not None else None
                result.shift = ShiftResult(
                    system_prompt=s.shift_system_prompt, object_answer=shift_answer, object_value=sv,
                    prediction=await self.predict(self.model, item, prop, system=s.shift_system_prompt),
                )
            return result

        return list(await asyncio.gather(*[one(p) for p in props]))

    # -- the whole quiz -------------------------------------------------------------------------

    async def run(
        self,
        items: Sequence[Item],
        *,
        progress: ProgressCallback | None = None,
        on_item: ItemCallback | None = None,
    ) -> QuizReport:
        for item in items:
            for p in item.properties:
                if p not in self.properties:
                    raise ConfigError(f"task {item.task}: unknown property {p!r}")
                if self.properties[p].judged and self.judge is None:
                    raise SettingError("judge", f"property {p} is judge-scored: give a $judge model, or leave the property out")
        sem = asyncio.Semaphore(self.settings.concurrency)
        done = 0
        slots: list[list[PropertyResult]] = [[] for _ in items]
        if progress:
            progress(0, len(items))

        async def worker(i: int, item: Item) -> None:
            nonlocal done
            async with sem:
                slots[i] = await self.run_item(item)
            done += 1
            if on_item:
                for r in slots[i]:
                    on_item(r)
            if progress:
                progress(done, len(items))

        await asyncio.gather(*[worker(i, it) for i, it in enumerate(items)])
        report = QuizReport(
            model=self.model.name,
            predictors=[p.name for p in self.predictors],
            judge=self.judge_model.name if self.judge_model is not None else None,
            settings=self.settings.model_dump() | {
                "mode_samples": {p.name: self.settings.mode_samples or default_mode_samples(p) for p in self.predictors},
                "split": self.split is not None,
            },
            results=[r for slot in slots for r in slot],
        )
        return score(report)


async def run_quiz(model: Model, items: Sequence[Item], **kwargs) -> QuizReport:
    """Convenience: ``Quiz(model, ...).run(items, progress=..., on_item=...)``."""
    progress = kwargs.pop("progress", None)
    on_item = kwargs.pop("on_item", None)
    return await Quiz(model, **kwargs).run(items, progress=progress, on_item=on_item)
