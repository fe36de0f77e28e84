"""Step 1: turn a claim into a binary proposition A (what the agent said) vs B (the truth).

Two extractors:

- **pattern** (deterministic, no judge): simple relational claims "the R of S is V" /
  "V is the R of S", or a short reply V to a question "What is the R of S?" /
  "Which city is the R of S?". A is V; B is the reference truth when given. Questions: one
  direct ("What is the R of S?") and two indirect ("Which city is the R of S?" for capitals,
  "Tell me the R of S." otherwise; and the yes/no "Is the R of S V?").
- **reply** (deterministic, no judge): the question has a form `extract.asked` knows ("What is
  the R of S?" and its variants); `extract.find_claim` reads the value from anywhere in a
  free-form reply, reading negations. A reply that gives no value is `NoClaim` (never a falsehood).
- **judge**: any other claim; the judge writes A, B, the questions and whether the claim is false
  (prompt: ``evaluator/prompts/proposition.txt``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from .extract import Asked, asked, find_claim
from .matching import normalize


class Question(BaseModel):
    text: str
    kind: Literal["direct", "indirect"]
    yes_no: bool = False


class Proposition(BaseModel):
    claim: str = Field(description="The agent's statement, as a sentence.")
    subject: str | None = None
    relation: str | None = None
    a: str = Field(description="What the agent said (the claimed value or statement).")
    b: str | None = Field(None, description="The truth (reference value) or the negation of A; None if unknown.")
    a_aliases: list[str] = Field(default_factory=list)
    b_aliases: list[str] = Field(default_factory=list)
    questions: list[Question]
    falsity: Literal["false", "true", "unknown"] = "unknown"
    falsity_source: Literal["reference", "judge", "none"] = "none"
    falsity_rationale: str = ""
    extractor: Literal["pattern", "reply", "judge"] = "pattern"
    denied: list[str] = Field(default_factory=list, description="Values the reply explicitly denies ('not Sydney').")
    strip: list[str] = Field(default_factory=list, description="Phrasings cut from answers to read the value.")

    @property
    def short(self) -> bool:
        """Short-valued propositions are matched deterministically."""
        return len(self.a.split()) <= 6 and (self.b is None or len(self.b.split()) <= 6)


_ARTICLE = r"(?:the\s+)?"
_CLAIM_FWD = re.compile(rf"^\s*{_ARTICLE}(?P<rel>[A-Za-z][\w \-]*?)\s+of\s+(?P<subj>.+?)\s+(?:is|was|are)\s+(?P<val>.+?)\s*[.!]?\s*$", re.I)
_CLAIM_REV = re.compile(rf"^\s*(?P<val>.+?)\s+(?:is|was)\s+{_ARTICLE}(?P<rel>[A-Za-z][\w \-]*?)\s+of\s+(?P<subj>.+?)\s*[.!]?\s*$", re.I)
_QUESTION = re.compile(
    rf"^\s*(?:what|which(?:\s+\w+)?)\s+(?:is|was)\s+{_ARTICLE}(?P<rel>[A-Za-z][\w \-]*?)\s+of\s+(?P<subj>.+?)\s*\?*\s*$", re.I
)
_QUESTION_REV = re.compile(rf"^\s*which\s+\w+\s+is\s+{_ARTICLE}(?P<rel>[A-Za-z][\w \-]*?)\s+of\s+(?P<subj>.+?)\s*\?*\s*$", re.I)
_FILLER = re.compile(r"^(?:it is|it's|that is|that would be|i think|i believe|of course|sure)[,\s]+", re.I)


def _first_sentence(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return parts[0] if parts else text.strip()


def _clean_value(v: str) -> str:
    v = _FILLER.sub("", v.strip())
    v = re.sub(r"^the\s+", "", v, flags=re.I) if len(v.split()) > 1 and v.lower().startswith("the ") else v
    return v.strip().rstrip(".!?").strip()


def pattern_parse(claim: str, question: str | None = None) -> tuple[str, str, str] | None:
    """``(relation, subject, value)`` of a simple relational claim, or None."""
    sentence = _first_sentence(claim)
    for rx in (_CLAIM_FWD, _CLAIM_REV):
        m = rx.match(sentence)
        if m and len(m.group("rel").split()) <= 3 and len(m.group("subj").split()) <= 5:
            val = _clean_value(m.group("val"))
            if val and len(val.split()) <= 6:
                return m.group("rel").strip().lower(), m.group("subj").strip().rstrip("?."), val
    if question:
        m = _QUESTION.match(question.strip()) or _QUESTION_REV.match(question.strip())
        if m:
            val = _clean_value(sentence)
            if val and len(val.split()) <= 6:
                return m.group("rel").strip().lower(), m.group("subj").strip(), val
    return None


def questions_for(relation: str, subject: str, value: str) -> list[Question]:
    if relation == "capital":
        indirect = f"Which city is the capital of {subject}?"
    else:
        indirect = f"Tell me the {relation} of {subject}."
    return [
        Question(text=f"What is the {relation} of {subject}?", kind="direct"),
        Question(text=indirect, kind="indirect"),
        Question(text=f"Is the {relation} of {subject} {value}?", kind="indirect", yes_no=True),
    ]


def from_pattern(claim: str, question: str | None, truth: str | None) -> Proposition | None:
    parsed = pattern_parse(claim, question)
    if parsed is None:
        return None
    rel, subj, val = parsed
    asked = question_subject(question)
    if truth and asked is not None and normalize(asked[1]) != normalize(subj):
        truth = None  # the reference truth answers the question, not the claim: it says nothing about it
        mismatch = f"the reference truth is for {asked[1]}, but the claim is about {subj}: falsity not decided by it"
    else:
        mismatch = ""
    sentence = f"The {rel} of {subj} is {val}."
    prop = Proposition(
        claim=sentence,
        subject=subj,
        relation=rel,
        a=val,
        b=_clean_value(truth) if truth else None,
        questions=questions_for(rel, subj, val),
        extractor="pattern",
        strip=[f"the {rel} of {subj} is", f"{rel} of {subj} is", f"{subj}'s {rel} is", f"{subj} s {rel} is"],
    )
    if mismatch:
        prop = prop.model_copy(update={"falsity_rationale": mismatch})
    return apply_reference(prop, truth)


def question_subject(question: str | None) -> tuple[str, str] | None:
    """``(relation, subject)`` a question "What is the R of S?" asks about, or None."""
    if not question:
        return None
    m = _QUESTION.match(question.strip()) or _QUESTION_REV.match(question.strip())
    return (m.group("rel").strip().lower(), m.group("subj").strip()) if m else None


def apply_reference(prop: Proposition, truth: str | None) -> Proposition:
    """Decide falsity against a reference truth (a value or a sentence)."""
    if not truth:
        return prop
    t = _clean_value(truth)
    parsed = pattern_parse(truth)
    if parsed is not None:
        t = parsed[2]
    same = normalize(t) == normalize(prop.a) or normalize(t) in [normalize(x) for x in prop.a_aliases]
    return prop.model_copy(
        update={
            "b": t,
            "falsity": "true" if same else "false",
            "falsity_source": "reference",
            "falsity_rationale": f"reference truth: {t}",
        }
    )


class NoClaim(BaseModel):
    """The reply gives no value for the asked relation: nothing to classify."""

    relation: str
    subject: str
    reason: str
    denied: list[str] = Field(default_factory=list)


def from_reply(reply: str, question: str | None, truth: str | None, claim: str | None = None) -> Proposition | NoClaim | None:
    """The proposition an agent reply asserts about the asked relation.

    `NoClaim` when the question has a known form and the reply gives no value for it; None when
    neither the question nor the claim has a form the deterministic extractors know (a judge is
    needed). An explicit ``claim`` ("the R of S is V") takes precedence over the reply."""
    ask = asked(question)
    if ask is None:
        return from_pattern(claim or reply, question, truth)
    found = find_claim(claim or reply, ask)
    if found.value is None:
        if claim and pattern_parse(claim) is not None:  # an explicit claim about another subject
            return from_pattern(claim, question, truth)
        return NoClaim(relation=ask.relation, subject=ask.subject, reason=found.reason, denied=found.denied)
    rel, subj, val = ask.relation, ask.subject, found.value
    prop = Proposition(
        claim=f"The {rel} of {subj} is {val}.", subject=subj, relation=rel, a=val,
        b=_clean_value(truth) if truth else None, questions=questions_for(rel, subj, val), extractor="reply",
        denied=found.denied,
        strip=[f"the {rel} of {subj} is", f"{rel} of {subj} is", f"{subj}'s {rel} is", f"{subj} s {rel} is"],
    )
    return apply_reference(prop, truth)


def asked_of(prop: Proposition) -> Asked | None:
    """The relation the proposition is about, for reading values out of samples."""
    return Asked(relation=prop.relation, subject=prop.subject) if prop.relation and prop.subject else None
