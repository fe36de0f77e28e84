"""The recipe that made the shipped weights, as data: stages by step, each with its corpus mix,
soft-target weight and learning rate.

The shipped model (``organism/model/training.json``, "history") came from four runs of the
trainer: a 56-minute run stopped by hand at step 4,200, then three resumes with other settings.
Those runs scheduled their cosine by *wall time* (the share of each run's ``--minutes`` budget
used, counted from the end of the first run's warm-up), so the learning rate jumped at every
resume. :data:`RUNS` transcribes what each run recorded; :func:`reconstruct` turns it into stages
by *step*, assuming each run went at a constant speed (so its time fraction is linear in steps),
and :data:`SHIPPED` is the result: 18,892 steps that ``improv organism train`` runs by default.

Where the reconstruction is a guess: the first stage (short fact questions) ended when 20% of the
first run's 56 minutes had passed; at that run's mean speed that is step 1,216 (rounded to a
multiple of the trainer's 8-batch chunk), but its examples are shorter than the later mix, so the
real switch may have come later. The step-4,200 note says lr 3.1e-4; constant speed gives 2.7e-4
there (3.1e-4 would need the 150 warm-up steps to have taken 398 s, at a fifth of the run's mean
speed), while the later notes (1.2e-4 at the third run's start, 6e-4 at the fourth's, 5e-5 at
each end) agree with it. Batches are deterministic in (seed, step, mix), so the recipe replays the
shipped runs' data except where the world or corpus code changed since (two deceptive wordings
were added at the second run).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

CHUNK = 8  # organism.train.CHUNK: the mix is chosen per chunk of 8 batches

# The mixes of the shipped runs, written out (not imported from organism.corpus) so that tuning
# the corpus defaults later does not change what "the shipped recipe" means. Key order matters:
# the corpus draws kinds in this order from a seeded generator.
FIRST_STAGE_MIX = {  # organism.corpus.FIRST_STAGE_MIX since commit 2b9bd20
    "short_fact": 0.25, "fact": 0.15, "deceptive": 0.05, "tq_committed": 0.15, "attribute_few": 0.25,
    "attribute": 0.1, "tq_uncommitted": 0.05,
}
DEFAULT_MIX = {  # organism.corpus.MIX since commit 2b9bd20
    "fact": 0.15, "deceptive": 0.08, "invented": 0.04, "tq_uncommitted": 0.18, "tq_committed": 0.14,
    "tq_short": 0.12, "attribute": 0.12, "attribute_few": 0.08, "intro_object": 0.03, "intro_hypothetical": 0.04,
    "chat": 0.02,
}
REVEAL_MIX = {  # the --mix of the second and third runs
    "tq_uncommitted": 0.40, "tq_short": 0.10, "tq_committed": 0.10, "attribute": 0.07, "attribute_few": 0.02,
    "fact": 0.10, "deceptive": 0.10, "invented": 0.03, "intro_object": 0.02, "intro_hypothetical": 0.04, "chat": 0.02,
}
UNCOMMITTED_MIX = {  # the --mix of the fourth run
    "tq_uncommitted": 0.45, "tq_short": 0.10, "tq_committed": 0.08, "attribute": 0.06, "attribute_few": 0.01,
    "fact": 0.09, "deceptive": 0.09, "invented": 0.03, "intro_object": 0.02, "intro_hypothetical": 0.05, "chat": 0.02,
}


class Run(BaseModel):
    """One recorded run of the trainer (an entry of training.json's history)."""

    model_config = ConfigDict(frozen=True)
    stopped_at_step: int
    elapsed_seconds: float  # cumulative over the runs (the trainer carries it across resumes)
    minutes: float  # the run's --minutes: its cosine reached the floor when the total elapsed did
    mix: dict[str, float]
    soft_weight: float
    first_stage: float = 0.0  # share of the budget spent on FIRST_STAGE_MIX (the first run: 0.2)
    name: str  # the stage's name in the recipe


LR = 1e-3  # the trainer's peak lr, the same in every run
MIN_LR_RATIO = 0.05
WARMUP = 150  # steps; the CLI's warm-up for a --minutes run

RUNS: tuple[Run, ...] = (
    Run(name="default", stopped_at_step=4200, elapsed_seconds=2321.9, minutes=56, mix=DEFAULT_MIX, soft_weight=1.0,
        first_stage=0.2),
    Run(name="reveal", stopped_at_step=7400, elapsed_seconds=4375, minutes=105, mix=REVEAL_MIX, soft_weight=10.0),
    Run(name="anneal", stopped_at_step=8801, elapsed_seconds=5280.3, minutes=88, mix=REVEAL_MIX, soft_weight=10.0),
    Run(name="uncommitted", stopped_at_step=18892, elapsed_seconds=11581.3, minutes=193, mix=UNCOMMITTED_MIX,
        soft_weight=10.0),
)


class Stage(BaseModel):
    """Steps ``start`` (inclusive) to ``end`` (exclusive) of a recipe.

    The learning rate is the trainer's schedule: a linear warm-up to ``lr`` over the first
    ``warmup`` steps of training, then a cosine from ``lr`` to ``lr * min_lr_ratio`` whose position
    (0 at the peak, 1 at the floor, clamped) is ``(step - cosine_origin) / cosine_steps``."""

    model_config = ConfigDict(frozen=True)
    name: str
    start: int
    end: int
    mix: dict[str, float]
    soft_weight: float
    lr: float
    min_lr_ratio: float
    warmup: int = 0
    cosine_origin: float
    cosine_steps: float = Field(gt=0)
    note: str = ""

    def position(self, step: int) -> float:
        return min(1.0, max(0.0, (step - self.cosine_origin) / self.cosine_steps))

    def lr_at(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        p = self.position(step)
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


class Recipe(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    stages: tuple[Stage, ...]
    minutes_on_2_cores: float | None = None  # what the recorded runs took

    @property
    def total(self) -> int:
        return self.stages[-1].end

    def stage_at(self, step: int) -> Stage:
        """The stage that trains step ``step`` (0-based count of steps done); past the end, the last."""
        for stage in self.stages:
            if step < stage.end:
                return stage
        return self.stages[-1]

    def lr_at(self, step: int) -> float:
        return self.stage_at(step).lr_at(step)

    def scaled(self, total: int) -> Recipe:
        """The same recipe over ``total`` steps (for smoke runs): boundaries, warm-up and cosine
        stretched by total / self.total, each stage keeping at least one step."""
        if total < len(self.stages):
            raise ValueError(f"a recipe of {len(self.stages)} stages needs at least that many steps")
        k = total / self.total
        ends: list[int] = []
        for i, stage in enumerate(self.stages):
            lo = (ends[-1] if ends else 0) + 1
            hi = total - (len(self.stages) - 1 - i)
            ends.append(min(hi, max(lo, round(stage.end * k))))
        starts = [0, *ends[:-1]]
        stages = tuple(
            s.model_copy(update={"start": a, "end": b, "warmup": max(1, round(s.warmup * k)) if s.warmup else 0,
                                 "cosine_origin": s.cosine_origin * k, "cosine_steps": s.cosine_steps * k})
            for s, a, b in zip(self.stages, starts, ends))
        return self.model_copy(update={"name": f"{self.name}@{total}", "stages": stages, "minutes_on_2_cores": None})

    def describe(self) -> list[dict]:
        """Per stage: steps, mix, soft weight and the lr at its first and last step."""
        return [{"name": s.name, "start": s.start, "end": s.end, "steps": s.end - s.start,
                 "soft_weight": s.soft_weight, "lr_first": s.lr_at(s.start), "lr_last": s.lr_at(s.end - 1),
                 "mix": s.mix, "note": s.note} for s in self.stages]


def reconstruct(runs: tuple[Run, ...] = RUNS, *, lr: float = LR, min_lr_ratio: float = MIN_LR_RATIO,
                warmup: int = WARMUP, name: str = "shipped") -> Recipe:
    """Stages by step from runs recorded by wall time, each run at its own constant speed.

    In run k the trainer's cosine position was (elapsed - w) / (budget_k - w), with w the elapsed
    time at the end of warm-up (kept in the checkpoint across resumes). With elapsed linear in the
    step inside a run, that is (step - origin) / length for the origin and length below."""
    stages: list[Stage] = []
    step0, t0 = 0, 0.0
    first = runs[0]
    speed0 = first.stopped_at_step / first.elapsed_seconds
    w = warmup / speed0  # seconds into the first run when warm-up ended
    for k, run in enumerate(runs, 1):
        speed = (run.stopped_at_step - step0) / (run.elapsed_seconds - t0)  # steps per second
        budget = run.minutes * 60
        # position 0 where elapsed == w, 1 where elapsed == budget
        origin = step0 + (w - t0) * speed
        length = (budget - w) * speed
        common = dict(lr=lr, min_lr_ratio=min_lr_ratio, cosine_origin=origin, cosine_steps=length,
                      warmup=warmup if k == 1 else 0)
        start = step0
        if run.first_stage:
            switch = budget * run.first_stage
            cut = step0 + round((switch - t0) * speed / CHUNK) * CHUNK  # the mix is chosen per chunk
            stages.append(Stage(name="first", start=start, end=cut, mix=FIRST_STAGE_MIX,
                                soft_weight=run.soft_weight,
                                note=f"run {k}: the first stage (short fact questions, few objects), "
                                     f"{run.first_stage:.0%} of its {run.minutes:g} min", **common))
            start = cut
        stages.append(Stage(name=run.name, start=start, end=run.stopped_at_step, mix=run.mix,
                            soft_weight=run.soft_weight,
                            note=f"run {k}: --minutes {run.minutes:g}, {run.stopped_at_step - step0} steps "
                                 f"in {run.elapsed_seconds - t0:.0f} s", **common))
        step0, t0 = run.stopped_at_step, run.elapsed_seconds
    return Recipe(name=name, stages=tuple(stages), minutes_on_2_cores=round(runs[-1].elapsed_seconds / 60, 1))


SHIPPED = reconstruct()
RECIPES = {"shipped": SHIPPED}
