"""Quiz results as transcripts (kind="introspection"): one per task, every object-level prompt
and every hypothetical a separate root (fresh context), labelled in ``meta`` so the quiz can be
re-scored or replayed against another model."""

from __future__ import annotations

from collections import defaultdict

from improv.transcripts.schema import Transcript, Turn

from .metrics import QuizReport


def report_transcripts(report: QuizReport) -> list[Transcript]:
    by_task: dict[str, list] = defaultdict(list)
    for r in report.results:
        by_task[r.task].append(r)
    out = []
    for task, results in by_task.items():
        t = Transcript(kind="introspection", title=f"introspection: {task} ({report.model})",
                       meta={"task": task, "model": report.model, "predictors": report.predictors,
                             "quiz_created": report.created.isoformat()})
        seen_items: set[int] = set()
        for r in results:
            if r.item not in seen_items:
                seen_items.add(r.item)
                user = t.add(Turn(role="user", content=r.prompt, meta={"level": "object", "task": task, "item": r.item}))
                for i, text in enumerate(r.object_samples):
                    t.add(Turn(parent=user.id, role="assistant", content=text, model=r.object_model,
                               meta={"level": "object", "task": task, "item": r.item, "sample": i,
                                     "mode": text == r.object_answer, "deterministic": r.deterministic}))
            for name, p in r.predictions.items():
                user = t.add(Turn(role="user", content=p.hypothetical,
                                  meta={"level": "hypothetical", "task": task, "item": r.item, "property": r.property}))
                labels = {"level": "hypothetical", "task": task, "item": r.item, "property": r.property,
                          "predictor": name, "self": name == r.object_model, "object_value": r.object_value,
                          "prediction": p.value, "correct": r.correct(name), "trained": r.trained,
                          "distribution": p.distribution, "distribution_source": p.distribution_source}
                for text in p.raw[:1]:
                    t.add(Turn(parent=user.id, role="assistant", content=text, model=name, meta=labels))
            if r.shift is not None and r.shift.prediction is not None:
                sp = r.shift.prediction
                user = t.add(Turn(role="user", content=sp.hypothetical, system_prompt=r.shift.system_prompt,
                                  meta={"level": "hypothetical", "shift": True, "task": task, "item": r.item,
                                        "property": r.property}))
                t.add(Turn(parent=user.id, role="assistant", content=sp.raw[0] if sp.raw else "", model=sp.predictor,
                           system_prompt=r.shift.system_prompt,
                           meta={"level": "hypothetical", "shift": True, "property": r.property, "item": r.item,
                                 "object_value": r.shift.object_value, "shift_object_answer": r.shift.object_answer,
                                 "prediction": sp.value}))
        out.append(t)
    return out
