"""Reading 20 Questions answers and reveals.

Answers. Where the backend gives first-token logprobs (hf/, organism, OpenAI-compatible
servers with top_logprobs), `answer_distribution` reads P(yes), P(no) and the mass on anything
else off the first generated token, and `draw_label` draws yes/no from it at the game's
temperature (BIG-bench twenty_questions, Huang et al. 2025): no parse can fail. Otherwise
`parse_answer` maps the text to one label of a `LabelSet` (default yes / no / unsure) by its
leading words, after an echoed question ("Is it alive?\nNo."), or to ``invalid``: never
guessed. "Yes.", "Absolutely!", "Not really." parse; "It was a cat.", "Yes and no" and "" are
``invalid``.

Reveals. `read_reveal` finds the object a reveal names anywhere in it, with word boundaries
("I think it was a cat", "The object was a pair of scissors"); a reply naming no object
("No.", "I give up.", an empty or cut-off reply) is a *non-reveal*, never an object.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from improv.agents.types import TokenLogprob

if TYPE_CHECKING:
    from .table import ObjectTable

INVALID = "invalid"

_WORD = re.compile(r"[a-z0-9']+")


class LabelSet(BaseModel):
    """Labels and the leading words/phrases that select each one (lower case)."""

    labels: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "yes": ["yes", "yeah", "yep", "yup", "correct", "true", "right", "absolutely", "of course",
                    "certainly", "definitely", "sure", "indeed", "affirmative"],
            "no": ["no", "nope", "nah", "false", "incorrect", "wrong", "not really", "not at all",
                   "absolutely not", "certainly not", "definitely not", "of course not", "never"],
            "unsure": ["maybe", "unsure", "sometimes", "dunno", "i don't know", "i do not know",
                       "not sure", "i'm not sure", "it depends", "depends", "partly", "skip"],
        }
    )

    def names(self) -> list[str]:
        return [*self.labels, INVALID]

    @classmethod
    def binary(cls) -> "LabelSet":
        """Yes / no only: everything else is invalid (Kaggle-style strictness)."""
        full = cls()
        return cls(labels={"yes": full.labels["yes"], "no": full.labels["no"]})


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


#: words that select a label only as the answer's first word: later in the sentence they are
#: ordinary words ("No, I'm sure it isn't", "No, that's right"), not a second answer
_LEAD_ONLY = {"sure", "right", "correct", "true", "false", "wrong", "certainly", "absolutely",
              "definitely", "indeed", "never", "affirmative"}
_SENTENCE = re.compile(r"[^.!?;\n]*(?:[.!?;\n]+|$)")
_PREAMBLE = re.compile(r"^\s*(?:a|answer|reply)\s*:\s*", re.IGNORECASE)


def answer_sentence(text: str) -> str:
    """The sentence that carries the answer: the first one that is not a question.

    Real chat models often echo the question first ("Is it alive?\nNo."); a sentence ending in
    "?" is skipped, anything else is kept (a preamble such as "The first question." is not
    guessed past).
    """
    for m in _SENTENCE.finditer(text.strip()):
        sentence = m.group(0)
        if not sentence.strip():
            continue
        if sentence.rstrip().endswith("?"):
            continue
        return _PREAMBLE.sub("", re.split(r"[.!?;\n]", sentence, maxsplit=1)[0])
    return ""


def parse_answer(text: str, labels: LabelSet | None = None) -> str:
    """The label whose phrase the answer starts with, or ``invalid``.

    The answer sentence must not also contain a word of another label ("Yes and no",
    "Yes, well, maybe"): such answers are ``invalid`` rather than a guess.
    """
    labels = labels or LabelSet()
    words = _words(answer_sentence(text))
    if not words:
        return INVALID
    matches: list[tuple[int, str]] = []
    for label, phrases in labels.labels.items():
        for phrase in phrases:
            pw = _words(phrase)
            if pw and words[: len(pw)] == pw:
                matches.append((len(pw), label))
    if not matches:
        return INVALID
    matches.sort(reverse=True)
    label = matches[0][1]
    rest = words[matches[0][0]:]
    for other, phrases in labels.labels.items():
        if other == label:
            continue
        for phrase in phrases:
            pw = _words(phrase)
            if len(pw) == 1 and pw[0] in rest and pw[0] not in _LEAD_ONLY:
                return INVALID
    return label


def _token_word(token: str) -> str:
    return "".join(_WORD.findall(token.lower()))


def _first_token_words(labels: LabelSet, label: str) -> set[str]:
    """Single-word phrases of ``label`` that begin no phrase of another label: a first token
    "Absolutely" may go on "not", so it is mass on neither answer."""
    others = {_words(p)[0] for lab, ps in labels.labels.items() if lab != label for p in ps if _words(p)}
    return {_words(p)[0] for p in labels.labels.get(label, []) if len(_words(p)) == 1} - others


class AnswerDistribution(BaseModel):
    """The model's own distribution over the answer words at the first generated token."""

    p_yes: float = Field(description="Mass on yes-like first tokens.")
    p_no: float = Field(description="Mass on no-like first tokens.")
    p_other: float = Field(description="Mass on every other token, including what the top alternatives do not show.")
    source: str = "logprobs"

    @property
    def p_yes_given_answer(self) -> float | None:
        """P(yes | yes or no); None when neither has any mass."""
        total = self.p_yes + self.p_no
        return self.p_yes / total if total > 0 else None


def answer_distribution(logprobs: Sequence[TokenLogprob] | None, labels: LabelSet | None = None) -> AnswerDistribution | None:
    """P(yes), P(no), P(other) from the first token's top logprobs; None without logprobs."""
    if not logprobs:
        return None
    labels = labels or LabelSet()
    yes_words, no_words = _first_token_words(labels, "yes"), _first_token_words(labels, "no")
    first = logprobs[0]
    seen: dict[str, float] = {}
    for alt in first.top_logprobs:
        seen.setdefault(alt.token, alt.logprob)
    seen.setdefault(first.token, first.logprob)
    yes = sum(math.exp(lp) for tok, lp in seen.items() if _token_word(tok) in yes_words)
    no = sum(math.exp(lp) for tok, lp in seen.items() if _token_word(tok) in no_words)
    yes, no = min(yes, 1.0), min(no, 1.0 - min(yes, 1.0))
    return AnswerDistribution(p_yes=yes, p_no=no, p_other=max(0.0, 1.0 - yes - no))


def p_yes(logprobs: Sequence[TokenLogprob] | None, labels: LabelSet | None = None) -> float | None:
    """P(yes | yes or no) from the first token's top logprobs.

    None when there are no logprobs or neither a yes-like nor a no-like token is among them.
    """
    dist = answer_distribution(logprobs, labels)
    return dist.p_yes_given_answer if dist is not None else None


def draw_label(dist: AnswerDistribution, temperature: float | None, rng: random.Random) -> str | None:
    """Yes or no drawn from P(yes) and P(no) sharpened by the temperature (argmax at 0);
    None when neither answer has any mass."""
    if dist.p_yes <= 0 and dist.p_no <= 0:
        return None
    t = 1.0 if temperature is None else temperature
    if t <= 0:
        return "yes" if dist.p_yes >= dist.p_no else "no"
    # p^(1/T) in log space, so tiny masses at low T do not underflow to 0/0
    ly = math.log(dist.p_yes) / t if dist.p_yes > 0 else -math.inf
    ln = math.log(dist.p_no) / t if dist.p_no > 0 else -math.inf
    top = max(ly, ln)
    wy, wn = math.exp(ly - top), math.exp(ln - top)
    return "yes" if rng.random() < wy / (wy + wn) else "no"


_REVEAL_PREFIX = re.compile(
    r"^\s*(?:ok(?:ay)?[,.!]?\s*)?(?:fine[,.!]?\s*)?"
    r"(?:it\s+(?:was|is)\b|it's\b|i\s+was\s+thinking\s+of\b|i\s+thought\s+of\b|the\s+(?:object|answer|secret)"
    r"(?:\s+(?:i\s+was\s+thinking\s+of|was|is)\b)?(?:\s+(?:was|is)\b)?|my\s+(?:object|secret)\s+(?:was|is)\b)"
    r"\s*:?\s*",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:a|an|the|some)\s+", re.IGNORECASE)


def reveal_phrase(text: str) -> str:
    """The object named by a reveal: "It was a cat." -> "cat" (lower case, no article)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = re.split(r"[.!?;]", first, maxsplit=1)[0]
    body = _REVEAL_PREFIX.sub("", first, count=1)
    body = re.split(r",|\s+-\s+|\s+(?:and|but|which|that)\s+", body, maxsplit=1)[0]
    body = _ARTICLE.sub("", body.strip())
    return " ".join(_words(body))


# -- reading a reveal like a person would --------------------------------------------------------

NON_REVEAL = "(non-reveal)"

#: a phrase that introduces the object; \b after the verb so "It wasn't ..." never yields "n't ..."
_CUE = re.compile(
    r"\b(?:it\s+(?:was|is|'s)|it's|(?:the|my)\s+(?:object|answer|secret|thing|item)(?:\s+i\s+(?:was\s+thinking\s+of|thought\s+of|had\s+in\s+mind|chose|picked))?\s+(?:was|is)"
    r"|i\s+was\s+thinking\s+(?:of|about)|i\s+thought\s+of|i\s+(?:chose|picked)|you(?:'re|\s+are|\s+were)\s+(?:asking|thinking)\s+about"
    r"|(?:the\s+)?answer\s*(?:is|was|:)|i(?:'d|\s+would|'ll|\s+will)?\s+(?:have\s+to\s+)?say(?:\s+that)?"
    r"|i\s+(?:think|guess|believe)(?:\s+that)?|it\s+(?:must|might|could)\s+(?:be|have\s+been))\b(?!n't)\s*:?\s*",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"(?:\b(?:not|never|nor)|n't)\s+(?:(?:a|an|the|some)\s+)?$", re.IGNORECASE)
_GIVE_UP = re.compile(
    r"\b(?:i\s+give\s+up|i\s+(?:do\s+not|don't|dont)\s+know|no\s+idea|not\s+sure|i\s+(?:can(?:no|')t|won't|will\s+not)\s+(?:say|tell|reveal)"
    r"|it's\s+a\s+secret|i\s+(?:have|had)n't\s+(?:thought|chosen)|i\s+(?:did\s+not|didn't)\s+(?:think|choose|pick))\b",
    re.IGNORECASE,
)
#: words that, alone after a cue, name no object ("It was fun", "It is a secret")
_NOT_OBJECTS = {"yes", "no", "not", "it", "that", "this", "fun", "nothing", "something", "anything", "secret",
                "good", "great", "nice", "easy", "hard", "correct", "right", "wrong", "true", "false", "me", "you",
                "a", "an", "the", "game", "question", "guess", "object", "one", "thing", "mystery", "up", "okay", "ok",
                "sorry", "well", "hmm", "very", "so", "really", "just", "what", "my", "your", "i", "we", "they",
                "unknown", "yet", "only", "better", "worse", "done", "over", "here", "there", "now", "still", "also",
                "all", "everything", "none", "same", "different", "possible", "impossible", "clear", "obvious"}
#: words before the noun that say nothing about it ("It's just a poison.")
_FILLER = {"just", "simply", "actually", "really", "probably", "definitely", "indeed", "obviously", "clearly",
           "basically", "certainly", "surely", "maybe", "perhaps", "like", "kind", "sort", "of"}
#: an adjective, adverb or participle alone is no object ("It's eaten.", "It was delicious.")
_NOT_NOUN = re.compile(r"(?:ly|ed|ful|ous|ive|able|ible|ish|less)$")
_OPEN_STOP = re.compile(r",|;|:|\(|\s+-\s+|\s+(?:and|but|which|that|who|because|so|since|with|from|in|on|at|for|to|when|while|as"
                        r"|named|called|you|i|we|they|he|she|it|is|was|are|were)\s+", re.IGNORECASE)


class Reveal(BaseModel):
    """What a reveal named: a table object, an object outside the table (open label), or nothing."""

    label: str = Field(description=f"Canonical table object, normalised open label, or {NON_REVEAL!r}.")
    in_table: bool = False
    non_reveal: str | None = Field(None, description="Why it names no object: empty, cut off, yes/no, gives up, no object named.")

    @property
    def is_object(self) -> bool:
        return self.non_reveal is None


def _not_negated(text: str, start: int) -> bool:
    return not _NEGATION.search(text[max(0, start - 12):start])


def _open_label(after: str) -> str | None:
    """The noun phrase right after a cue, normalised: "a marmalade." -> "marmalade"."""
    phrase = re.split(r"[.!?\n]", after, maxsplit=1)[0]
    phrase = _OPEN_STOP.split(phrase, maxsplit=1)[0]
    words = _words(phrase)
    had_article = False
    while words and (words[0] in _FILLER or words[0] in ("a", "an", "the", "some")):
        had_article = had_article or words[0] in ("a", "an", "the", "some")
        words = words[1:]
    while words and words[-1] in ("of", "a", "an", "the", "some", "i", "my", "your", "and", "or"):
        words = words[:-1]  # a phrase cut off mid-way ("a small item of")
    if not words or len(words) > 4 or words[0] in _NOT_OBJECTS or words[0].startswith("it'"):
        return None
    if any(w in ("not", "no", "never") for w in words):
        return None
    if len(words) == 1 and not had_article and _NOT_NOUN.search(words[0]):
        return None
    if any(w.endswith("n't") for w in words) or words[0] in ("not", "no", "never"):
        return None
    return " ".join(words)


def read_reveal(text: str, table: "ObjectTable | None" = None, finish_reason: str | None = None,
                labels: LabelSet | None = None) -> Reveal:
    """The object a reveal names anywhere in it, as a person would read it.

    A table object (name, alias or plural, on word boundaries, not right after a negation) wins
    when it follows a reveal cue ("it was", "the object was", "you're asking about", "I think")
    or the reply is only a short noun phrase ("A dog.", "Cats!"); a mention in passing ("I give
    the envelope to you.") is not a reveal. Otherwise: an open label for the noun phrase after a
    cue, or for a bare noun phrase with an article ("A marmalade."). A reply that is empty, only
    yes/no, gives up, or names nothing is a non-reveal.
    """
    body = (text or "").strip()
    if not body:
        return Reveal(label=NON_REVEAL, non_reveal="empty")
    hits: list[tuple[int, int, str]] = []
    if table is not None:
        hits = [(m.start(), m.end(), table.surface_forms()[m.group(0).lower()])
                for m in table.surface_pattern().finditer(body) if _not_negated(body, m.start())]
        if hits:
            cue_ends = [m.end() for m in _CUE.finditer(body)]
            after_cue = [h for h in hits if any(e <= h[0] and h[0] - e <= 40 for e in cue_ends)]
            # without a cue, an object only counts when the reply is just a noun phrase ("A dog.",
            # "Cats!"): "I give the envelope to you." names no secret
            first = re.split(r"[.!?\n]", body, maxsplit=1)[0]
            bare = [h for h in hits if h[1] <= len(first) and len(_words(first)) <= 4
                    and not re.search(r"\b(?:i|you|we|they|he|she)\b", first, re.IGNORECASE)]
            if not (after_cue or bare):
                hits = []
        if hits:
            pick = (after_cue or bare)[0]
            # "an orange cat": a table word right before another is a modifier; the head noun wins
            for nxt in hits:
                if nxt[0] > pick[1] and not body[pick[1]:nxt[0]].strip():
                    pick = nxt
            return Reveal(label=pick[2], in_table=True)
    for m in _CUE.finditer(body):
        if not _not_negated(body, m.start()) or body[m.end():m.end() + 4].lower().startswith("not"):
            continue
        label = _open_label(body[m.end():])
        if label is not None:
            return Reveal(label=label)
    if _GIVE_UP.search(body):
        return Reveal(label=NON_REVEAL, non_reveal="gives up")
    if parse_answer(body, labels) != INVALID:
        return Reveal(label=NON_REVEAL, non_reveal="yes/no")
    # a bare noun phrase with an article ("A marmalade."): a bare word could be anything ("Okay.")
    first = re.split(r"[.!?\n]", body, maxsplit=1)[0]
    if _ARTICLE.match(first) and 0 < len(_words(first)) <= 4:
        label = _open_label(first)
        if label is not None:
            return Reveal(label=label)
    if finish_reason == "length":
        return Reveal(label=NON_REVEAL, non_reveal="cut off")
    return Reveal(label=NON_REVEAL, non_reveal="no object named")


#: the questioner's closing request: the one give-up text (the games, the built-in model's corpus
#: and its manifest all use it)
GIVE_UP = "I give up, what was it?"


def a_or_an(noun: str) -> str:
    """"a" or "an" for ``noun`` (by its first letter, as the built-in model's corpus was written)."""
    return "an" if noun[:1].lower() in "aeiou" else "a"


def article(name: str) -> str:
    """"a cat", "an apple"."""
    return f"{a_or_an(name)} {name}"


GUESS = re.compile(r"^\s*(?:is\s+it|was\s+it|are\s+you\s+thinking\s+of)\s+(?:(?:an|a|the|some)\s+)?(.+?)\s*\?*\s*$", re.IGNORECASE)


def guessed_object(question: str) -> str | None:
    """The object a direct guess names ("Is it a cat?" -> "cat"), else None."""
    m = GUESS.match(question)
    return " ".join(_words(m.group(1))) if m else None
