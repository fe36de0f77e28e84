"""Strict answer parsing, P(yes) from logprobs, reveal normalisation."""

import math

import pytest

from improv.agents.types import TokenLogprob, TopLogprob
from improv.games.answers import (
    INVALID,
    NON_REVEAL,
    AnswerDistribution,
    LabelSet,
    answer_distribution,
    answer_sentence,
    article,
    draw_label,
    guessed_object,
    p_yes,
    parse_answer,
    read_reveal,
    reveal_phrase,
)
from improv.games.table import load_table


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
        ("Not really", "no"),
        ("Nobody knows", INVALID),
        # the forms real chat models use (issue 16, SmolLM2-135M-Instruct)
        ("Is it alive?\nNo.", "no"),
        ("Is it made of metal? Yes, it is.", "yes"),
        ("Absolutely!", "yes"),
        ("Of course!", "yes"),
        ("Certainly.", "yes"),
        ("Sure, it is.", "yes"),
        ("Not really.", "no"),
        ("Of course not.", "no"),
        ("Certainly not!", "no"),
        ("No, I'm sure it isn't.", "no"),
        ("A: Yes.", "yes"),
        # a ramble is not guessed past, and a mixed answer stays invalid
        ("The first question. No, it can't.", INVALID),
        ("Is it alive?", INVALID),
        ("Absolutely not, well, yes.", INVALID),
        ("Of course, no.", INVALID),
        ("Sure, no.", INVALID),
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


def test_reveals_use_table_aliases_and_plurals():
    table = load_table()
    assert read_reveal("It was a fridge.", table).label == "refrigerator"
    assert read_reveal("Cats", table).label == "cat"
    assert read_reveal("It was a flux capacitor.", table).label == "flux capacitor"
    assert read_reveal("", table).non_reveal == "empty"


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

        # ... of the answer sentence (an echoed question before it is skipped)
        first_word = re.findall(r"[a-z0-9']+", answer_sentence(text).lower().replace("\u2019", "'"))[0]
        assert first_word in {p.split()[0] for p in LabelSet().labels[label]}
    assert isinstance(reveal_phrase(text), str)


# -- answers read from the model's distribution ---------------------------------------------------

def test_answer_distribution_keeps_the_mass_on_other_tokens():
    lps = _lp("Is", math.log(0.5), [("Is", math.log(0.5)), ("Yes", math.log(0.2)), (" no", math.log(0.1)),
                                    ("Absolutely", math.log(0.1))])
    d = answer_distribution(lps)
    # "Absolutely" may go on "not": mass on neither answer
    assert d.p_yes == pytest.approx(0.2) and d.p_no == pytest.approx(0.1)
    assert d.p_other == pytest.approx(0.7)
    assert d.p_yes_given_answer == pytest.approx(2 / 3)
    assert answer_distribution(None) is None


def test_draw_label_follows_the_distribution_and_the_temperature():
    import random

    d = AnswerDistribution(p_yes=0.3, p_no=0.1, p_other=0.6)
    rng = random.Random(1)
    draws = [draw_label(d, 1.0, rng) for _ in range(4000)]
    assert draws.count("yes") / 4000 == pytest.approx(0.75, abs=0.03)
    assert {draw_label(d, 0.0, rng) for _ in range(20)} == {"yes"}
    # T=0.5 squares the odds: 9:1
    sharp = [draw_label(d, 0.5, rng) for _ in range(4000)]
    assert sharp.count("yes") / 4000 == pytest.approx(0.9, abs=0.02)
    assert draw_label(AnswerDistribution(p_yes=0.0, p_no=0.0, p_other=1.0), 1.0, rng) is None
    assert draw_label(AnswerDistribution(p_yes=1e-30, p_no=1e-31, p_other=1.0), 0.01, rng) == "yes"


# -- reveals read like a person would --------------------------------------------------------------

@pytest.mark.parametrize(
    "text,label,in_table",
    [
        ("I think it was a cat.", "cat", True),
        ("The object was a pair of scissors.", "scissors", True),
        ("You're asking about a lamp", "lamp", True),
        ("It was a fridge.", "refrigerator", True),
        ("Cats!", "cat", True),
        ("It's not a cat, it's a dog.", "dog", True),
        ("It was an orange cat.", "cat", True),
        ("I was thinking of cell phones all along", "phone", True),
        ("Okay, I'll tell you: it was a bicycle, a red one.", "bicycle", True),
        # objects outside the table keep a normalised open label
        ("No, it was a marmalade.", "marmalade", False),
        ("It was a flux capacitor.", "flux capacitor", False),
        ("The answer is: a teapot.", "teapot", False),
        ("A spaceship.", "spaceship", False),
        # SmolLM2-135M-Instruct's reveals (issue 16 runs)
        ("No, it was a car. In this paragraph, it", "car", True),
        ("I'd say, it's a coconut ice cream.", "coconut ice cream", False),  # not in the built-in table
        ("A dog.", "dog", True),
        ("I'd have to say that a jewel.", "jewel", False),
        ("It's just a poison.", "poison", False),
        ("It's oatmeal. You may have chosen, but do you", "oatmeal", False),
        ("It was a math idea named the Number of Cerosoco", "math idea", False),
        ("It was a glass you couldn't open because they had the", "glass", False),
        ("It's a small item of", "small item", False),
    ],
)
def test_read_reveal_finds_the_object(text, label, in_table):
    r = read_reveal(text, load_table())
    assert (r.label, r.in_table, r.non_reveal) == (label, in_table, None)


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("no", "yes/no"),
        ("Yes.", "yes/no"),
        ("Is it alive?\nNo.", "yes/no"),
        ("I give up.", "gives up"),
        ("i give up", "gives up"),
        ("I don't know what it was.", "gives up"),
        ("(none)", "no object named"),
        ("n't out of the blue", "no object named"),
        ("It wasn't out of the blue.", "no object named"),
        ("It is not a car.", "no object named"),
        ("Okay.", "no object named"),
        ("It was fun!", "no object named"),
        # SmolLM2-135M-Instruct: objects mentioned in passing are no reveal, nor are adjectives
        ("I give the envelope to you.", "no object named"),
        ("I won't give you any coffee.", "no object named"),
        ("You can't observe that printer.", "no object named"),
        ("It's unknown.", "no object named"),
        ("As hard as I made it, it's yet to arrive", "no object named"),
        ("It was delicious.", "no object named"),
        ("I think it's not a", "no object named"),
        ("No, it is not. But it has a catchy name", "yes/no"),
        ("I cannot say.", "gives up"),
        ("I'm not sure. No sentence.", "gives up"),
    ],
)
def test_read_reveal_non_reveals_are_never_objects(text, reason):
    r = read_reveal(text, load_table())
    assert r.label == NON_REVEAL and not r.is_object and r.non_reveal == reason


def test_read_reveal_cut_off_reply():
    assert read_reveal("Well, let me think about what the", load_table(), finish_reason="length").non_reveal == "cut off"
    assert read_reveal("The appendic isotopes A-dZZs block and amino", load_table(), "length").non_reveal == "cut off"


def test_read_reveal_without_a_table_reads_open_labels():
    assert read_reveal("It was a cat.").label == "cat" and not read_reveal("It was a cat.").in_table
    assert read_reveal("I give up.").non_reveal == "gives up"


def test_reveal_names_need_word_boundaries():
    t = load_table()
    assert read_reveal("It was a catalogue.", t).label == "catalogue"  # not "cat"
    assert read_reveal("It was scattered.", t).non_reveal == "no object named"  # not "cat", and no noun
    assert read_reveal("It was a carpet", t).label == "carpet"  # not "car"
