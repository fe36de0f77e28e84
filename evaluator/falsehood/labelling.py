"""Label samples A / B / not_a / other / refusal and cluster them by meaning.

Open answers are first read with the claim extractor (`extract.find_claim`: the value stated
anywhere in the answer, negations read), then compared with A and B; an answer with no value falls
back to short-answer matching (`matching`). longer answers go to the judge
(prompt ``label.txt``) when one is configured, and are clustered by judge equivalence
(``equivalent.txt``) against one representative per cluster.
"""

from __future__ import annotations

import asyncio

from .evidence import Sample
from .extract import find_claim
from .matching import contains, is_short, label_answer, normalize
from .proposition import Proposition, Question, asked_of

NO_VALUE = "(no value)"
_JUDGE_LETTER = {"A": "A", "B": "B", "C": "other", "D": "refusal"}


async def label_texts(prop: Proposition, question: Question, texts: list[str], kind: str, judge=None) -> list[Sample]:
    a_values = [prop.a, *prop.a_aliases]
    a_norms = {normalize(v) for v in a_values}
    b_values = [v for v in ([prop.b] if prop.b else []) + prop.b_aliases if normalize(v) not in a_norms]
    out: list[Sample | None] = [None] * len(texts)
    to_judge: list[int] = []
    ask = asked_of(prop)
    for i, text in enumerate(texts):
        if judge is None or (prop.short and is_short(text)):
            read = extracted_label(text, ask, a_values, b_values) if ask is not None and not question.yes_no else None
            label, cluster = read or label_answer(text, a_values, b_values, yes_no_question=question.yes_no, strip=prop.strip)
            if read is None and ask is not None and not question.yes_no and label == "other" and cluster != "A+B":
                cluster = NO_VALUE  # states no value for the relation: not another answer
            out[i] = Sample(question=question.text, kind=kind, yes_no=question.yes_no, text=text, label=label, cluster=cluster)
        else:
            to_judge.append(i)
    if to_judge:
        replies = await asyncio.gather(
            *(judge.choose("label", ["A", "B", "C", "D"], a=prop.claim, b=prop.b or f"not ({prop.claim})",
                           question=question.text, answer=texts[i]) for i in to_judge)
        )
        reps: list[tuple[str, str]] = []  # (cluster id, representative text) for "other" answers
        for i, reply in zip(to_judge, replies):
            label = _JUDGE_LETTER.get(reply.answer or "C", "other")
            if question.yes_no and label == "B":
                label = "not_a"
            cluster = label if label != "other" else ""
            if label == "other":
                for cid, rep in reps:
                    eq = await judge.choose("equivalent", ["yes", "no"], question=question.text, first=rep, second=texts[i])
                    if eq.answer == "yes":
                        cluster = cid
                        break
                if not cluster:
                    cluster = f"other-{len(reps) + 1}"
                    reps.append((cluster, texts[i]))
            out[i] = Sample(question=question.text, kind=kind, yes_no=question.yes_no, text=texts[i], label=label,
                            cluster=cluster, method="judge")
    return [s for s in out if s is not None]


def same_value(value: str, values: list[str]) -> bool:
    """Whether an extracted value names one of ``values`` ('Lima' ~ 'Lima, Peru' either way round)."""
    v = normalize(value)
    return any(v and (v == normalize(x) or contains(v, x) or contains(normalize(x), v)) for x in values if normalize(x))


def extracted_label(text: str, ask, a_values: list[str], b_values: list[str]) -> tuple[str, str] | None:
    """(label, cluster) from the value the answer states, or None when it states none."""
    value = find_claim(text, ask).value
    if value is None:
        return None
    is_a, is_b = same_value(value, a_values), same_value(value, b_values)
    if is_a and not is_b:
        return "A", "A"
    if is_b and not is_a:
        return "B", "B"
    return "other", normalize(value)
