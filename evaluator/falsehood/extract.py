"""Read the value a free-form reply gives for the asked relation, without a judge.

The relation forms this extractor knows are questions asking for "the R of S" (R up to three
words, S a name): "What is the R of S?", "What's the R city of S?", "Which city is/serves as the
R of S?", "Name / Tell me / Give me the R of S.", "Do you know (what) the R of S (is)?", "What is
S's R?". `asked` reads (R, S) from such a question; anything else is not a known form (the
caller asks for a judge).

`find_claim` looks through every sentence of the reply for a statement of the value:

- "the R of S is V", "S's R is V", "its R is V", "the R is V", "V is the R of S", "V is its R";
- "not W, but V" / "V, not W" / "is not W ... it's V": a negated value is a denial, never the
  claim, and the positive value next to it is;
- a bare answer ("Lima.", "Lima, of course.") when the reply starts with a name that ends its
  clause (a name opening a longer sentence is that sentence's subject, not an answer).

Values are names (a run of capitalised words, with connectors such as "de" or "City"), so a
reply of "True.", "False.", "No." or "Yes." gives no value: no claim, with the reason. Statements
about another subject ("the capital of France is Paris" when asked about Peru) are skipped.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from .matching import is_refusal, normalize

_REL = r"(?P<rel>[a-z][a-z\-]*(?:\s+[a-z][a-z\-]*){0,2}?)"
_SUBJ = r"(?P<subj>[A-Z][\w\-']*(?:\s+(?:[A-Z][\w\-']*|of|and|the|de|du|la|el))*?)"
_ASK = re.compile(
    r"^\s*(?:(?:what|which)(?:\s+\w+)?\s+(?:is|was|'s|serves\s+as|is\s+known\s+as)|what's|name|tell\s+me|give\s+me|state|"
    r"do\s+you\s+know(?:\s+(?:what|which\s+\w+))?|can\s+you\s+tell\s+me(?:\s+(?:what|which\s+\w+))?)\s+"
    rf"(?:the\s+)?{_REL}\s+of\s+{_SUBJ}(?:\s+is)?\s*[?.!]*\s*$",
    re.I,
)
_ASK_POSS = re.compile(rf"^\s*(?:what|which\s+\w+)\s+(?:is|was|'s)\s+{_SUBJ}'s?\s+{_REL}\s*[?.!]*\s*$", re.I)
_YES_NO_START = re.compile(r"^\s*(?:is|are|was|were|does|do|did|can|could|has|have)\b", re.I)

# Capitalised words that open sentences but are never the value asked for.
_NOT_VALUES = {
    "yes", "no", "true", "false", "sure", "okay", "ok", "well", "hello", "hi", "hey", "i", "the", "it", "its", "that", "this",
    "there", "sorry", "thanks", "thank", "oh", "ah", "correct", "incorrect", "right", "wrong", "maybe", "perhaps", "of",
    "as", "in", "a", "an", "my", "you", "your", "we", "they", "he", "she", "what", "which", "who", "why", "how", "not",
    "unfortunately", "actually", "indeed", "certainly", "absolutely", "definitely", "great", "good", "nope", "yep",
    "fine", "alright", "answer", "capital", "however", "but", "and", "so", "also", "please", "let", "here", "according",
    "it's", "that's", "i'm", "here's", "there's", "let's", "what's", "i'd", "i've", "i'll",
}
_CONNECT = {"de", "do", "da", "del", "di", "du", "la", "le", "el", "al", "of", "city", "town", "upon", "on", "am", "an", "der", "von"}
_LEAD = re.compile(
    r"^(?:(?:actually|in fact|definitely|certainly|probably|of course|indeed|undoubtedly|clearly|none other than|"
    r"the city of|the town of|a city called|called|named|known as|officially|now|still|currently|located in)\s*,?\s+)+",
    re.I,
)
_WORD = re.compile(r"[\w\-'’.]+|[^\w\s]")


class Asked(BaseModel):
    relation: str
    subject: str


class Claim(BaseModel):
    value: str | None
    sentence: str = ""
    denied: list[str] = []
    reason: str = ""


def canonical_relation(rel: str) -> str:
    """'capital city' and 'capital' ask the same thing."""
    words = rel.lower().split()
    if len(words) > 1 and words[-1] in ("city", "town"):
        words = words[:-1]
    return " ".join(words)


def asked(question: str | None) -> Asked | None:
    """(relation, subject) of a question in a known form, or None (yes/no questions included)."""
    if not question:
        return None
    q = question.strip()
    if _YES_NO_START.match(q) and not re.match(r"^\s*(?:do|can)\s+you\s+(?:know|tell)", q, re.I):
        return None
    m = _ASK.match(q) or _ASK_POSS.match(q)
    if not m:
        return None
    subj = m.group("subj").strip().rstrip("'s").strip() if m.re is _ASK_POSS else m.group("subj").strip()
    return Asked(relation=canonical_relation(m.group("rel")), subject=subj)


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?;])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def leading_name(text: str) -> str | None:
    """The run of capitalised words (with connectors) the text starts with, or None."""
    text = _LEAD.sub("", text.strip().lstrip("\"'*“‘ ")).strip()
    words = text.split()
    out: list[str] = []
    for w in words:
        bare = w.strip(",.;:!?\"'*”’)(")
        if not bare:
            break
        if bare[0].isupper() or (out and bare.lower() in _CONNECT and bare[0].islower()):
            out.append(bare)
            if bare != w.rstrip("\"'*”’)") or w[-1] in ",.;:!?":  # the word carried punctuation: the name ends here
                break
        else:
            break
    while out and out[-1].lower() in _CONNECT and not out[-1][0].isupper():
        out.pop()
    if not out or out[0].lower() in _NOT_VALUES:
        return None
    return " ".join(out)


def _rx(relation: str, subject: str) -> list[re.Pattern]:
    rel = r"\s+".join(re.escape(w) for w in relation.split()) + r"(?:\s+city|\s+town)?"
    subj = r"\s+".join(re.escape(w) for w in subject.split())
    cop = r"(?:is|was|remains|would\s+be|will\s+be|has\s+been|:|=|-)"
    return [
        re.compile(rf"\b{rel}\s+of\s+{subj}\s*,?\s+{cop}\s+(?P<rest>.+)", re.I),
        re.compile(rf"\b{subj}(?:'s|’s|s')\s+{rel}\s+{cop}\s+(?P<rest>.+)", re.I),
        re.compile(rf"\b(?:its|the)\s+{rel}\s+{cop}\s+(?P<rest>.+)", re.I),
        re.compile(rf"\b{rel}\s*:\s*(?P<rest>.+)", re.I),
    ]


def _rev(relation: str, subject: str) -> re.Pattern:
    rel = r"\s+".join(re.escape(w) for w in relation.split()) + r"(?:\s+city|\s+town)?"
    return re.compile(rf"(?P<val>[A-Z][\w\-'’]*(?:\s+(?:[A-Z][\w\-'’]*|de|do|da|del|du|la|el|City))*)\s+(?:is|was|remains|serves\s+as)\s+"
                      rf"(?:(?:the|its|also\s+the)\s+)?{rel}(?P<of>\s+of\s+(?P<subj>[A-Z][\w\-' ]*))?", re.I)


def _value_after(rest: str, denied: list[str]) -> str | None:
    """The value a copula's right-hand side asserts; a "not W" part is recorded as denied."""
    rest = rest.strip()
    neg = re.match(r"^(?:not|n't|never)\s+(?P<w>.+)", rest, re.I)
    if neg:
        w = leading_name(neg.group("w"))
        if w and w not in denied:
            denied.append(w)
        after = re.search(r"\b(?:but|rather|it'?s|it\s+is|instead\s+it\s+is|instead)\s+(?P<v>.+)", neg.group("w"), re.I)
        return leading_name(after.group("v")) if after else None
    return leading_name(rest)


def _denials(sentence: str) -> list[str]:
    out = []
    for m in re.finditer(r"\b(?:not|isn't|is\s+not|never)\s+(?:the\s+city\s+of\s+)?(?P<w>[A-Z][\w\-' ]*)", sentence):
        w = leading_name(m.group("w"))
        if w:
            out.append(w)
    return out


def find_claim(reply: str, ask: Asked) -> Claim:
    """The value the reply states for ``ask`` (see the module docstring), or a Claim with value None and the reason."""
    text = reply.strip()
    if not text:
        return Claim(value=None, reason=f"no claim: the reply is empty (asked: the {ask.relation} of {ask.subject})")
    denied: list[str] = []
    sentences = _sentences(text)
    subj_n = normalize(ask.subject)
    for s in sentences:
        denied += [d for d in dict.fromkeys(_denials(s)) if d not in denied]
        for rx in _rx(ask.relation, ask.subject):
            for m in rx.finditer(s):
                v = _value_after(m.group("rest"), denied)
                if v and normalize(v) != subj_n and v not in denied:
                    return Claim(value=v, sentence=s, denied=denied)
        for m in _rev(ask.relation, ask.subject).finditer(s):
            if m.group("of") and normalize(m.group("subj")).split()[:len(subj_n.split())] != subj_n.split():
                continue  # about another subject
            v = leading_name(m.group("val"))
            if v and normalize(v) != subj_n and v not in denied:
                return Claim(value=v, sentence=s, denied=denied)
    first = sentences[0]
    # a bare answer: the reply starts with a name ("Lima.", "Canberra, not Sydney.")
    v = leading_name(re.sub(r"^(?:(?:sure|of course|well|yes|ok|okay|certainly)\s*[,!.]\s*)+", "", first, flags=re.I))
    if v is not None:
        rest = first[first.find(v) + len(v):].lstrip()
        if rest and rest[0] not in ",.;:!?)":
            v = None  # a name that opens a longer sentence ("Loki takes pride in ...") is its subject, not an answer
    if v is None:
        m = re.match(r"^(?:it\s+is|it's|that\s+is|that's|that\s+would\s+be|the\s+answer\s+is|i\s+think\s+it'?s?|i\s+believe\s+it'?s?)\s+(?P<v>.+)",
                     first, re.I)
        if m:
            v = _value_after(m.group("v"), denied)
    if v and normalize(v) != subj_n and v not in denied and len(v.split()) <= 5:
        return Claim(value=v, sentence=first, denied=denied)
    norm = normalize(text)
    if is_refusal(norm):
        why = "the reply declines or professes ignorance"
    elif norm.split(" ", 1)[0] in ("yes", "no", "true", "false", "correct", "incorrect", "right", "wrong"):
        why = f"the reply ({text[:40]!r}) answers yes/no or true/false, not with a value"
    else:
        why = "no sentence of the reply states a value"
    if denied:
        why += f"; it denies {', '.join(denied)}"
    return Claim(value=None, denied=denied, reason=f"no claim: {why} for the {ask.relation} of {ask.subject}")
