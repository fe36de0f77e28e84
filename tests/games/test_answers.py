"""Strict answer parsing, P(yes) from logprobs, reveal normalisation."""

import math

import pytest

from agents.types import TokenLogprob, TopLogprob
from games.answers import INVALID, LabelSet, article, guessed_object, p_yes, parse_answer, reveal_phrase
from games.engine import canonical_object
from games.table import load_table


@pytest.mark.parametrize(
    "text,label",
    [
        ("Yes.", "yes"),
        ("yes", "yes"),
        ("  YES!", "yes"),
        ("Yes, it is.", "yes"),
        ("No.", "no"),
        ("No, it isn't.", "no"),
        ("Nope", "no"),
        ("Maybe.", "unsure"),
        ("I don't know.", "unsure"),
        ("I don\u2019t know", "unsure"),
        ("Sometimes.", "unsure"),
        ("It was a cat.", INVALID),
        ("", INVALID),
        ("   ", INVALID),
        ("Yes and no.", INVALID),
        ("Yes, well, maybe", INVALID),
        ("Not really", INVALID),
        ("Nobody knows", INVALID),
        ("Yesterday", INVALID),
        ("Yes. No wait.", "yes"),
    ],
)
def test_parse_answer(text, label):
    assert parse_answer(text) == label


def test_binary_label_set_has_no_unsure():
    labels = LabelSet.binary()
    assert parse_answer("Maybe.", labels) == INVALID
    assert parse_answer("Yes.", labels) == "yes"
    assert labels.names() == ["yes", "no", INVALID]


def test_custom_label_set():
    labels = LabelSet(labels={"yes": ["oui"], "no": ["non"], "skip": ["skip"]})
    assert parse_answer("Oui.", labels) == "yes"
    assert parse_answer("Skip", labels) == "skip"
    assert parse_answer("Yes", labels) == INVALID


def _lp(token, logprob, alts):
    return [TokenLogprob(token=token, logprob=logprob, top_logprobs=[TopLogprob(token=t, logprob=l) for t, l in alts])]


def test_p_yes_normalises_over_yes_and_no_variants():
    lps = _lp("Yes", math.log(0.5), [("Yes", math.log(0.5)), (" yes", math.log(0.1)), ("No", math.log(0.2)),
                                        ("Maybe", math.log(0.2))])
    assert p_yes(lps) == pytest.approx(0.6 / 0.8)


def test_p_yes_uses_the_chosen_token_when_alternatives_are_missing():
    assert p_yes(_lp("No", math.log(0.9), [])) == pytest.approx(0.0)
    assert p_yes(_lp("Maybe", 0.0, [])) is None
    assert p_yes(None) is None
    assert p_yes([]) is None


@pytest.mark.parametrize(
    "text,phrase",
    [
        ("It was a cat.", "cat"),
        ("it was an apple", "apple"),
        ("It's the bicycle!", "bicycle"),
        ("I was thinking of a guitar.", "guitar"),
        ("The object was a chair.", "chair"),
        ("Okay, it was a dog, a friendly one.", "dog"),
        ("A rose", "rose"),
        ("", ""),
    ],
)
def test_reveal_phrase(text, phrase):
    assert reveal_phrase(text) == phrase


def test_canonical_object_uses_table_aliases_and_plurals():
    table = load_table()
    assert canonical_object("It was a fridge.", table) == "refrigerator"
    assert canonical_object("Cats", table) == "cat"
    assert canonical_object("It was a flux capacitor.", table) == "flux capacitor"
    assert canonical_object("", table) == "(none)"


def test_guess_and_article():
    assert guessed_object("Is it a cat?") == "cat"
    assert guessed_object("Are you thinking of an apple?") == "apple"
    assert guessed_object("Does it have fur?") is None
    assert article("apple") == "an apple" and article("cat") == "a cat"


from hypothesis import given, strategies as st


@given(st.text(max_size=60))
def test_parser_never_guesses_outside_the_label_set(text):
    label = parse_answer(text)
    assert label in LabelSet().names()
    if label != INVALID:
        # a label is only given when the answer's first word is the first word of one of its phrases
        import re

        first_word = re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))[0]
        assert first_word in {p.split()[0] for p in LabelSet().labels[label]}
    assert isinstance(reveal_phrase(text), str)
