"""An experiment's results as plain tables (title, header, rows of strings), which the CLI renders
with Rich and the TUI with DataTables: one layout, two front ends."""

from __future__ import annotations

from pydantic import BaseModel

from .experiment import ExperimentResult


class TextTable(BaseModel):
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def pct(m) -> str:
    if m is None or getattr(m, "value", None) is None:
        return "n/a"
    return f"{100 * m.value:.1f}% [{100 * m.low:.1f}, {100 * m.high:.1f}] ({m.successes}/{m.n})"


def diff(d) -> str:
    if d is None or d.value is None:
        return "n/a"
    return f"{100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]"


def _cal(c) -> tuple[str, str, str]:
    if c is None:
        return "n/a", "n/a", "0"
    mad = "n/a" if c.mad is None else f"{c.mad:.1f} [{c.mad_low:.1f}, {c.mad_high:.1f}]"
    tv = "n/a" if c.tv is None else f"{c.tv:.3f} [{c.tv_low:.3f}, {c.tv_high:.3f}]"
    return mad, tv, str(c.n_items)


def experiment_tables(result: ExperimentResult) -> list[TextTable]:
    out: list[TextTable] = []
    for p in result.pairs:
        m1, m2 = p.m1, p.m2
        rows = [[r.task, r.property, str(r.n), pct(r.self_accuracy), pct(r.cross_accuracy), pct(r.baseline),
                 diff(r.advantage)] for r in p.self_vs_cross]
        out.append(TextTable(
            title=f"M1 = {m1}: self ({m1}-self) vs cross ({m2}-predicts-{m1}) on held-out tasks",
            header=["task", "property", "n", f"self ({m1}-self)", f"cross ({m2})", "mode baseline", "self - cross (pts)"],
            rows=rows,
            note=(f"scored against {m1}-self's object behaviour re-measured after training; predictions read from the "
                  f"distribution; free-text compliance: self {pct(p.compliance_trained)}, cross {pct(p.cross_compliance)}"),
        ))
        ba = p.before_after
        out.append(TextTable(
            title=f"M1 = {m1}: before vs after self-prediction training (held-out)",
            header=["condition", "n", "accuracy", "mode baseline", "n matched", "accuracy (entropy-matched)",
                    "baseline (matched)"],
            rows=[[c.label, str(c.n), pct(c.accuracy), pct(c.baseline), str(mc.n), pct(mc.accuracy), pct(mc.baseline)]
                  for c, mc in ((ba.a, ba.matched_a), (ba.b, ba.matched_b))],
            note=(f"after - before: {diff(ba.difference)} pts; entropy-matched {diff(ba.matched_difference)} pts; "
                  f"free-text compliance untrained {pct(p.compliance_untrained)}"),
        ))
        out.append(TextTable(
            title=f"M1 = {m1}: calibration on held-out tasks (object vs hypothetical distributions)",
            header=["predictor", "MAD (pts)", "total variation", "items"],
            rows=[[c.label, *_cal(c.calibration)] for c in p.calibration],
            note="object distribution exact from the first reply token; hypothetical distribution scored over the answer space",
        ))
        bc = p.behaviour_change
        out.append(TextTable(
            title=f"M1 = {m1}: behaviour change ({m1}-self fine-tuned on {m2}'s object-level answers)",
            header=["predictions equal to", "among changed items", "entropy-matched"],
            rows=[["new behaviour", pct(bc.follows_new), pct(bc.matched_new)],
                  ["old behaviour", pct(bc.follows_old), pct(bc.matched_old)],
                  ["new - old (pts)", diff(bc.difference), diff(bc.matched_difference)]],
            note=f"{bc.changed} of {bc.compared} held-out (item, property) pairs changed their object value",
        ))
    if result.timings:
        total = sum(result.timings.values())
        out.append(TextTable(title="stage timings (s)", header=["stage", "seconds"],
                             rows=[[k, f"{v:.0f}"] for k, v in result.timings.items()] + [["total", f"{total:.0f}"]]))
    return out
