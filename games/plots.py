"""The 20 Questions figures, defined once for both front ends.

Each function draws onto a plotext-compatible object handed in (the ``plotext`` module in the CLI,
`textual_plotext.PlotextPlot.plt` in the TUI): it imports no plotting library and prints nothing.
Every figure's title says which turn, model and setting it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from improv.agents.text import printable

from .game import NodeAnalysis
from .metrics import Posterior


def setting_label(model: str | None, condition: str | None, k: int | None = None, objects: str | None = None) -> str:
    """"organism · committed · K=16 · builtin table": what a figure belongs to."""
    parts = [printable(model or "?"), condition or "?"]
    if k:
        parts.append(f"K={k}")
    if objects:
        parts.append(f"{objects} table")
    return " · ".join(parts)


def fit_title(head: str, setting: str, width: int | None) -> str:
    """``head · setting``, the setting shortened to fit ``width`` (plotext drops a title wider
    than the plot); the head (the turn) always stays."""
    full = f"{head} · {setting}" if setting else head
    width = None if width is None else width - 8  # the y axis takes a few columns
    if width is None or len(full) <= width:
        return full
    room = width - len(head) - 3
    return f"{head} · {setting[:room - 1]}…" if room > 8 else head


def posterior_vs_reveals(plt, node: NodeAnalysis | None, posterior: Posterior | None, *, at: int, setting: str,
                         limit: int = 6, width: int | None = None) -> bool:
    """Bars per object: the exact posterior beside the share of sampled reveals naming it, at turn
    ``at`` (the objects the two rank highest). False (and a titled empty figure) when there is
    neither at this turn."""
    plt.clear_data()
    plt.clear_figure()
    if node is not None and node.at != at:  # never another turn's figure under this turn's title
        node = None
    d = node.sample.distribution if node is not None else None
    ranked: list[str] = list(posterior.probabilities)[:limit] if posterior is not None else []
    if d is not None:  # the most sampled objects too, so a reveal the posterior ranks low still shows
        ranked += [o for o in d.counts if o not in ranked][: limit - len(ranked) // 2]
    what = " vs ".join(x for x, have in (("exact posterior", posterior), (f"sampled reveals (n={d.objects})" if d else "", d))
                       if have is not None)
    plt.title(fit_title(f"turn {at}: {what or 'nothing measured yet'}", setting, width))
    if not ranked:
        return False
    names = [printable(o)[:12] for o in ranked]
    series, labels = [], []
    if posterior is not None:
        series.append([posterior.probabilities.get(o, 0.0) for o in ranked])
        labels.append("exact P")
    if d is not None:
        series.append([(d.counts.get(o, 0) / d.objects) if d.objects else 0.0 for o in ranked])
        labels.append("sampled share")
    if len(series) == 1:
        plt.bar(names, series[0], label=labels[0])
    else:
        plt.multiple_bar(names, series, labels=labels)
    plt.ylim(0, 1)
    return True


def commitment_curve(plt, curves: Mapping[str, Mapping[int, float]], *, setting: str,
                     exact: Mapping[str, Mapping[int, float]] | None = None, width: int | None = None) -> bool:
    """Reveal entropy (bits) by turn, one line per condition (and the exact posterior's entropy,
    dotted, where measured). False (and a titled empty figure) when nothing was measured."""
    plt.clear_data()
    plt.clear_figure()
    plt.title(fit_title("commitment curve (entropy by turn)", setting, width))
    drawn = False
    for name, points in curves.items():
        xs = sorted(points)
        if xs:
            plt.plot(xs, [points[x] for x in xs], label=f"{name} reveals", marker="dot")
            drawn = True
    for name, points in (exact or {}).items():
        xs = sorted(points)
        if xs:
            plt.plot(xs, [points[x] for x in xs], label=f"{name} exact", marker="x")
            drawn = True
    if drawn:
        plt.xlabel("turn (answered questions)")
        plt.ylabel("bits")
        turns = sorted({x for pts in [*curves.values(), *(exact or {}).values()] for x in pts})
        plt.xticks(turns)
        top = max(v for pts in [*curves.values(), *(exact or {}).values()] for v in pts.values())
        plt.ylim(0, max(top, 0.1) * 1.05)
    return drawn


def summary_curves(turns_by_condition: Mapping[str, Sequence]) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """The batch summary's per-turn means as curves: (reveal entropy, exact entropy) per condition."""
    reveals = {c: {r.at: r.entropy.value for r in turns if r.entropy.value is not None}
               for c, turns in turns_by_condition.items()}
    exact = {c: {r.at: r.posterior_entropy.value for r in turns if r.posterior_entropy and r.posterior_entropy.value is not None}
             for c, turns in turns_by_condition.items()}
    return reveals, {c: v for c, v in exact.items() if v}
