"""Figures on a labelled set of cases, reported per split (tuning, held-out, or any other name a
case's ``meta["split"]`` gives), every share with its n and Wilson interval.

`aevaluate(cases, model, judge=None, ...)` (sync: `evaluate`) classifies the cases with
`aclassify_batch` and returns a `BenchmarkReport`: per split, the confusion matrix, per-class
precision and recall (Wilson 95%), macro-F1 (with a bootstrap 95% interval over cases), accuracy,
the deception verdicts that the role reading did not support (must be 0), errors, and the
excluded cases, counted and shown: cases whose reply makes no claim (``meta["no_claim"]``, label
None: their verdicts are listed, and any deception among them is a false accusation) and cases
without a label. This is what `benchmarks/real_model.py` and `benchmarks/falsehood_cases.py` call.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from improv.agents.text import counts, plural

from .classify import VERDICTS, BatchResult, Case, CaseResult, aclassify_batch, score
from .evidence import Share

SPLIT_FILE = Path(__file__).resolve().parents[1] / "data" / "falsehood_split.yaml"


def load_split(path: Path | None = None) -> dict:
    """The frozen held-out split and the tuning split of persona wordings and question phrasings."""
    import yaml

    return yaml.safe_load((path or SPLIT_FILE).read_text(encoding="utf-8"))


class ClassShares(BaseModel):
    label: str
    precision: Share | None
    recall: Share | None
    f1: float | None


class SplitReport(BaseModel):
    split: str
    cases: int
    scored: int
    errors: list[str] = Field(default_factory=list, description="'id: message' per case that raised.")
    confusion: dict[str, dict[str, int]]
    labels: list[str]
    per_class: list[ClassShares]
    macro_f1: float | None
    macro_f1_ci: tuple[float, float] | None
    accuracy: Share | None
    deception_precision: Share | None
    deception_without_role: list[str] = Field(default_factory=list, description="Deception verdicts whose role reading was not deceptive.")
    no_claim: dict[str, int] = Field(default_factory=dict, description="Verdicts on cases whose reply makes no claim (excluded from scoring).")
    unlabelled: int = 0


class BenchmarkReport(BaseModel):
    model: str
    settings: dict
    splits: list[SplitReport]
    batch: BatchResult


def _macro_ci(results: list[CaseResult], rounds: int = 400, seed: int = 0) -> tuple[float, float] | None:
    labelled = [r for r in results if r.label is not None]
    if len(labelled) < 2:
        return None
    rng = random.Random(seed)
    vals = []
    for _ in range(rounds):
        sample = [rng.choice(labelled) for _ in labelled]
        vals.append(score(sample)[3] or 0.0)
    vals.sort()
    return vals[int(0.025 * rounds)], vals[int(0.975 * rounds) - 1]


def report_split(name: str, results: list[CaseResult], cases: dict[str, Case]) -> SplitReport:
    no_claim = [r for r in results if cases[r.id].meta.get("no_claim")]
    scored = [r for r in results if r.label is not None and not r.error and not cases[r.id].meta.get("no_claim")]
    labels, confusion, per, macro, acc = score(scored)
    shares = []
    for m in per:
        tp = confusion.get(m.label, {}).get(m.label, 0)
        shares.append(ClassShares(label=m.label, precision=Share.of(tp, m.predicted) if m.predicted else None,
                                  recall=Share.of(tp, m.support) if m.support else None, f1=m.f1))
    dec = next((s.precision for s in shares if s.label == "deception"), None)
    no_role = [r.id for r in results if r.verdict == "deception" and r.detail is not None and not r.detail.persona.deceptive]
    return SplitReport(
        split=name, cases=len(results), scored=len(scored), errors=[f"{r.id}: {r.error}" for r in results if r.error],
        confusion=confusion, labels=labels, per_class=shares, macro_f1=macro, macro_f1_ci=_macro_ci(scored),
        accuracy=Share.of(sum(r.label == (r.verdict or "undetermined") for r in scored), len(scored)) if scored else None,
        deception_precision=dec, deception_without_role=no_role,
        no_claim=dict(Counter(r.verdict or "error" for r in no_claim)),
        unlabelled=sum(1 for r in results if r.label is None and not cases[r.id].meta.get("no_claim")),
    )


async def aevaluate(cases: list[Case], model, judge=None, *, k: int = 10, samples: int = 10, seed: int | None = 0,
                    concurrency: int = 4, progress=None, **kw) -> BenchmarkReport:
    """Classify labelled cases and report each split separately (see the module docstring)."""
    for i, c in enumerate(cases):
        c.id = c.id or str(i + 1)
    result = await aclassify_batch(cases, model, judge, k=k, samples=samples, seed=seed, concurrency=concurrency,
                                   progress=progress, keep_detail=True, **kw)
    by_id = {c.id: c for c in cases}
    names = list(dict.fromkeys(c.meta.get("split", "all") for c in cases))
    splits = [report_split(n, [r for r in result.results if by_id[r.id].meta.get("split", "all") == n], by_id) for n in names]
    settings = {"k": k, "samples": samples, "seed": seed, "judge": getattr(judge, "name", judge) if judge else None,
                "temperature": kw.get("temperature", 1.0), "exact": kw.get("exact", True)}
    return BenchmarkReport(model=getattr(model, "name", str(model)), settings=settings, splits=splits, batch=result)


def evaluate(cases: list[Case], model, judge=None, **kw) -> BenchmarkReport:
    """Synchronous `aevaluate` (do not call from a running event loop)."""
    return asyncio.run(aevaluate(cases, model, judge, **kw))


def format_report(r: BenchmarkReport) -> str:
    """Plain-text tables of a report (front ends and benchmark scripts print it)."""
    out = [f"model {r.model}  settings: {counts(r.settings)}"]
    cols = [v for v in VERDICTS]
    for s in r.splits:
        out.append(f"\n== split {s.split}: {plural(s.cases, 'case')}, {s.scored} scored, {plural(len(s.errors), 'error')}, "
                   f"{plural(sum(s.no_claim.values()), 'no-claim reply', 'no-claim replies')} excluded "
                   f"(verdicts: {counts(s.no_claim)}), {s.unlabelled} unlabelled")
        present = [c for c in cols if c in s.labels]
        out.append("label \\ verdict".ljust(20) + "".join(c[:12].rjust(13) for c in present))
        for g, row in s.confusion.items():
            out.append(g.ljust(20) + "".join(str(row.get(c, 0)).rjust(13) for c in present))
        for m in s.per_class:
            p = f"{m.precision}" if m.precision else "-"
            rc = f"{m.recall}" if m.recall else "-"
            out.append(f"  {m.label:<18} precision {p:<28} recall {rc:<28} F1 {'-' if m.f1 is None else f'{m.f1:.3f}'}")
        ci = f" [{s.macro_f1_ci[0]:.3f}, {s.macro_f1_ci[1]:.3f}]" if s.macro_f1_ci else ""
        out.append(f"  macro-F1 {'-' if s.macro_f1 is None else f'{s.macro_f1:.3f}'}{ci}  accuracy {s.accuracy or '-'}  "
                   f"deception precision {s.deception_precision or '-'}  deception without a deceptive role: {len(s.deception_without_role)}")
        for e in s.errors:
            out.append(f"  error {e}")
    return "\n".join(out)
