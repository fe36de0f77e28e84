"""The self-prediction training experiment end to end, on two in-process models, resumable.

For each ordered pair (M1, M2) of the two models:

1. object answers of M1 on the training tasks -> self-prediction data -> ``M1-self``;
2. object answers of ``M1-self`` on the training tasks -> the same number and mix of examples
   -> ``M2-predicts-M1`` (the cross-predictor, trained on the self-trained M1's behaviour);
3. ``M1-self`` fine-tuned on M2's object-level answers (no hypotheticals) -> ``M1-changed``;
4. quizzes on the held-out tasks: untrained M1; ``M1-self`` with ``M2-predicts-M1`` answering
   the same hypotheticals (object behaviour re-measured after training); ``M1-changed``;
5. the comparisons (`compare`): self vs cross vs mode baseline, before vs after (entropy
   matched), calibration (MAD and total variation), behaviour change.

Every stage writes one file or model folder under the run folder, atomically, and is skipped
when its output exists: an interrupted run resumes where it stopped. Models are loaded with the
``loader`` the front end gives (trained folders as ``hf/<folder>``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError
from improv.agents.model import Model

from . import compare
from .finetune import FinetuneSettings, finetune
from .metrics import QuizReport
from .quiz import Quiz, QuizSettings
from .training import (ObjectAnswers, Plan, cut_to_mix, load_plan, mix, object_answers, object_examples,
                       self_prediction_examples)

Loader = Callable[[str], Model]
Progress = Callable[[str, int, int], None]


class ExperimentSettings(BaseModel):
    train_per_task: int | None = Field(None, description="At most this many prompts per training task entry.")
    held_out_per_task: int | None = Field(None, description="At most this many prompts per held-out task entry.")
    object_max_tokens: int = 16
    hypothetical_max_tokens: int = 4
    mode_samples: int = 1
    epochs: float = 2.0
    change_epochs: float = 2.0
    batch_size: int = 8
    lr_lora: float = 5e-4
    lr_full: float = 3e-4
    lora_rank: int = 16
    seed: int = 0
    concurrency: int = 8


def source_of(model: Model):
    source = getattr(model.backend, "source", None)
    if source is None:
        raise ConfigError(f"{model.name}: training needs an in-process model (hf/... or organism)")
    return source


def method_for(model: Model) -> str:
    """The built-in model is trained fully; anything else with LoRA."""
    return "full" if model.name == "organism" or model.name.startswith("organism/") else "lora"


def _atomic_json(path: Path, data: Any) -> None:
    from improv.personas.storage import atomic_write

    atomic_write(path, json.dumps(data, indent=2, default=str))


class Experiment:
    def __init__(self, models: dict[str, Model], run_dir: str | Path, loader: Loader, *,
                 plan: Plan | None = None, settings: ExperimentSettings | None = None) -> None:
        if len(models) != 2:
            raise ConfigError("the experiment needs exactly two models (each is M1 once and M2 once)")
        for label in models:
            if not label.replace("-", "").replace("_", "").isalnum():
                raise ConfigError(f"model label {label!r}: letters, digits, - and _ only")
        for m in models.values():
            source_of(m)  # refuse an API model before any work: training needs the weights
        self.models = models
        self.labels = list(models)
        self.run = Path(run_dir)
        self.loader = loader
        self.plan = plan or load_plan()
        self.s = settings or ExperimentSettings()
        self.train_items = self.plan.items("train", n=self.s.train_per_task)
        # every training prompt: the self-trained model's answers on these fill the cross set
        # (the self-predictor's prompts first) to exactly the self set's number and mix
        self.pool_items = self.plan.items("train")
        self.test_items = self.plan.items("held_out", n=self.s.held_out_per_task)
        self._loaded: dict[str, Model] = {}
        self.timings: dict[str, float] = {}

    # -- paths and models -------------------------------------------------------------------------
    def other(self, label: str) -> str:
        return next(x for x in self.labels if x != label)

    def folder(self, name: str) -> Path:
        return self.run / "models" / name

    def model(self, name: str) -> Model:
        """A base model by label, or a trained one by folder name."""
        if name in self.models:
            return self.models[name]
        if name not in self._loaded:
            self._loaded[name] = self.loader(f"hf/{self.folder(name)}")
        return self._loaded[name]

    def stages(self) -> list[tuple[str, Callable[[Progress], Any]]]:
        out: list[tuple[str, Callable]] = []
        for a in self.labels:
            out.append((f"answers {a}", lambda p, a=a: self.answers(a, p)))
        for a in self.labels:
            out.append((f"train {a}-self", lambda p, a=a: self.train_self(a, p)))
        for a in self.labels:
            out.append((f"answers {a}-self", lambda p, a=a: self.answers(f"{a}-self", p)))
        for a in self.labels:
            b = self.other(a)
            out.append((f"train {b}-predicts-{a}", lambda p, a=a, b=b: self.train_cross(a, b, p)))
        for a in self.labels:
            out.append((f"train {a}-changed", lambda p, a=a: self.train_changed(a, p)))
        for a in self.labels:
            b = self.other(a)
            out.append((f"quiz {a}-untrained", lambda p, a=a: self.quiz(f"{a}-untrained", a, [], p)))
            out.append((f"quiz {a}-self", lambda p, a=a, b=b: self.quiz(f"{a}-self", f"{a}-self", [f"{b}-predicts-{a}"], p)))
            out.append((f"quiz {a}-changed", lambda p, a=a: self.quiz(f"{a}-changed", f"{a}-changed", [], p)))
        return out

    # -- stages -----------------------------------------------------------------------------------
    def answers_path(self, name: str) -> Path:
        return self.run / "answers" / f"{name}.json"

    def items_for(self, name: str):
        return self.pool_items if name.endswith("-self") else self.train_items

    async def answers(self, name: str, progress: Progress) -> ObjectAnswers:
        path = self.answers_path(name)
        if path.exists():
            return ObjectAnswers.model_validate_json(path.read_text(encoding="utf-8"))
        got = await object_answers(self.model(name), self.items_for(name), samples=self.s.mode_samples,
                                   max_tokens=self.s.object_max_tokens, concurrency=self.s.concurrency,
                                   progress=lambda d, t: progress(f"answers {name}", d, t))
        _atomic_json(path, got.model_dump())
        return got

    def _settings(self, base: str, epochs: float) -> FinetuneSettings:
        method = method_for(self.models[base])
        return FinetuneSettings(method=method, epochs=epochs, batch_size=self.s.batch_size,
                                lr=self.s.lr_full if method == "full" else self.s.lr_lora,
                                lora_rank=self.s.lora_rank, lora_alpha=2 * self.s.lora_rank, seed=self.s.seed)

    async def _train(self, name: str, base_source, examples, settings: FinetuneSettings, progress: Progress,
                     meta: dict) -> None:
        import asyncio

        if self.folder(name).exists():
            return
        (self.run / "data").mkdir(parents=True, exist_ok=True)
        _atomic_json(self.run / "data" / f"{name}.json", [e.model_dump() for e in examples])
        result = await asyncio.to_thread(
            finetune, base_source, examples, self.folder(name), settings,
            progress=lambda d, t, loss: progress(f"train {name} (loss {loss:.3f})", d, t), meta=meta)
        _atomic_json(self.run / "data" / f"{name}.result.json", result.model_dump())

    async def train_self(self, a: str, progress: Progress) -> None:
        answers = await self.answers(a, progress)
        examples, dropped = self_prediction_examples(self.train_items, answers)
        await self._train(f"{a}-self", source_of(self.models[a]), examples, self._settings(a, self.s.epochs), progress,
                          {"kind": "self", "behaviour_of": a, "dropped": dropped, "mix": {"/".join(k): v for k, v in mix(examples).items()}})

    async def train_cross(self, a: str, b: str, progress: Progress) -> None:
        """b trained to predict a-self's behaviour, with a's self-training number and mix."""
        name = f"{b}-predicts-{a}"
        if self.folder(name).exists():
            return
        own, _ = self_prediction_examples(self.train_items, await self.answers(a, progress))
        target = await self.answers(f"{a}-self", progress)
        examples, dropped = self_prediction_examples(self.pool_items, target)
        examples, short = cut_to_mix(examples, mix(own))
        await self._train(name, source_of(self.models[b]), examples, self._settings(b, self.s.epochs), progress,
                          {"kind": "cross", "behaviour_of": f"{a}-self", "dropped": dropped, "short": short,
                           "mix": {"/".join(k): v for k, v in mix(examples).items()}})

    async def train_changed(self, a: str, progress: Progress) -> None:
        b = self.other(a)
        examples = object_examples(self.train_items, await self.answers(b, progress))
        await self._train(f"{a}-changed", self.folder(f"{a}-self"), examples, self._settings(a, self.s.change_epochs),
                          progress, {"kind": "behaviour change", "starts_from": f"{a}-self", "object_answers_of": b})

    def quiz_path(self, label: str) -> Path:
        return self.run / "quizzes" / f"{label}.json"

    async def quiz(self, label: str, name: str, predictors: list[str], progress: Progress) -> QuizReport:
        path = self.quiz_path(label)
        if path.exists():
            return QuizReport.model_validate_json(path.read_text(encoding="utf-8"))
        settings = QuizSettings(mode_samples=self.s.mode_samples, object_max_tokens=self.s.object_max_tokens,
                                hypothetical_max_tokens=self.s.hypothetical_max_tokens,
                                concurrency=self.s.concurrency, seed=self.s.seed)
        quiz = Quiz(self.model(name), predictors=[self.model(p) for p in predictors], settings=settings)
        report = await quiz.run(self.test_items, progress=lambda d, t: progress(f"quiz {label}", d, t))
        report.settings["label"] = label
        _atomic_json(path, json.loads(report.model_dump_json()))
        return report

    # -- the whole run ----------------------------------------------------------------------------
    async def run_all(self, progress: Progress | None = None) -> "ExperimentResult":
        progress = progress or (lambda *_: None)
        self.run.mkdir(parents=True, exist_ok=True)
        _atomic_json(self.run / "experiment.json", {
            "models": {k: m.name for k, m in self.models.items()}, "plan": self.plan.model_dump(),
            "settings": self.s.model_dump()})
        stages = self.stages()
        timings_path = self.run / "timings.json"
        timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
        for i, (name, fn) in enumerate(stages):
            progress(f"[{i + 1}/{len(stages)}] {name}", 0, 1)
            t0 = time.monotonic()
            await fn(lambda what, d, t, i=i: progress(f"[{i + 1}/{len(stages)}] {what}", d, t))
            if name not in timings:
                timings[name] = round(time.monotonic() - t0, 1)
                _atomic_json(timings_path, timings)
        for m in self._loaded.values():
            await m.aclose()
        result = analyse(self.run)
        _atomic_json(self.run / "results.json", json.loads(result.model_dump_json()))
        return result


class PairResult(BaseModel):
    m1: str
    m2: str
    self_vs_cross: list[compare.CrossRow]
    before_after: compare.Matched
    calibration: list[compare.CalibrationRow]
    behaviour_change: compare.BehaviourChange
    compliance_untrained: Any = None
    compliance_trained: Any = None
    cross_compliance: Any = None


class ExperimentResult(BaseModel):
    run: str
    models: dict[str, str]
    pairs: list[PairResult]
    timings: dict[str, float] = Field(default_factory=dict)
    training: dict[str, dict] = Field(default_factory=dict)


def _load_report(path: Path) -> QuizReport:
    if not path.exists():
        raise ConfigError(f"{path}: missing; run the experiment (it resumes) before reading its results")
    return QuizReport.model_validate_json(path.read_text(encoding="utf-8"))


def analyse(run_dir: str | Path) -> ExperimentResult:
    """The comparisons, from a run folder's saved quizzes (no model is loaded)."""
    from .metrics import compliance

    run = Path(run_dir)
    meta_path = run / "experiment.json"
    if not meta_path.exists():
        raise ConfigError(f"{run}: not an introspection experiment run (no experiment.json)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    labels = list(meta["models"])
    pairs = []
    for a in labels:
        b = next(x for x in labels if x != a)
        untrained = _load_report(run / "quizzes" / f"{a}-untrained.json")
        trained = _load_report(run / "quizzes" / f"{a}-self.json")
        changed = _load_report(run / "quizzes" / f"{a}-changed.json")
        self_name = trained.model
        cross_name = next(p for p in trained.predictors if p != self_name)
        pairs.append(PairResult(
            m1=a, m2=b,
            self_vs_cross=compare.self_vs_cross(trained.results, self_name, cross_name),
            before_after=compare.compare_conditions("untrained", compare.scored(untrained.results),
                                                    "self-trained", compare.scored(trained.results)),
            calibration=compare.calibration_rows([
                ("untrained", untrained.results, None),
                ("self-trained", trained.results, None),
                ("cross-trained", trained.results, cross_name),
            ]),
            behaviour_change=compare.behaviour_change(trained.results, changed.results),
            compliance_untrained=compliance(untrained.results),
            compliance_trained=compliance(trained.results),
            cross_compliance=compliance(trained.results, cross_name),
        ))
    training = {}
    for f in sorted((run / "data").glob("*.result.json")) if (run / "data").exists() else []:
        training[f.name.removesuffix(".result.json")] = json.loads(f.read_text(encoding="utf-8"))
    timings_path = run / "timings.json"
    return ExperimentResult(run=str(run), models=meta["models"], pairs=pairs, training=training,
                            timings=json.loads(timings_path.read_text()) if timings_path.exists() else {})
