"""Each response property, the task loader and strict hypothetical parsing, on hand-made answers."""

from __future__ import annotations

import asyncio

import pytest

from improv.agents.errors import ConfigError
from improv.agents.registry import get_model
from improv.agents.types import Choice, TokenLogprob, TopLogprob
from improv.evaluator.introspection import load_properties, load_tasks, load_templates, select
from improv.evaluator.introspection.hypothetical import first_token_distribution, hypothetical_prompt, parse_answer
from improv.evaluator.introspection.properties import clean

P = load_properties()


def ex(name, text):
    return P[name].extract(text)


def test_clean_matches_binder():
    assert clean("Answer: Kingdom of Nejd.") == "kingdom of nejd"
    assert clean("  Hello,\nWorld!!  ") == "hello world"


@pytest.mark.parametrize("name,text,value", [
    ("first_character", "Owl.", "o"),
    ("second_character", "Kingdom of Nejd.", "i"),
    ("third_character", "A cat", "c"),  # cleaned "a cat": the space is the second character
    ("third_character", "ox", None),
    ("last_character", "Zebra!", "a"),
    ("starts_with_vowel", "Elephant", "true"),
    ("starts_with_vowel", "dog", "false"),
    ("first_word", "The cat sat.", "the"),
    ("second_word", "The cat sat.", "cat"),
    ("second_word", "Alone", None),
    ("third_word", "one, two, three, four", "three"),
    ("is_even", "42", "even"),
    ("is_even", "7.", "odd"),
    ("is_even", "seven", None),
    ("among_a_or_c", "C", "true"),
    ("among_a_or_c", "B) Mars", "false"),
    ("among_b_or_d", "B) Mars", "true"),
    ("among_b_or_d", "I think it is B", None),
    ("length_bucket", "cat", "one"),
    ("length_bucket", "the cat sat down", "few"),
    ("length_bucket", " ".join(["w"] * 12), "several"),
    ("length_bucket", " ".join(["w"] * 21), "many"),
    ("first_character", "Sorry, I cannot answer that.", None),
    ("first_character", "", None),
])
def test_extractors(name, text, value):
    assert ex(name, text) == value


def test_sentiment_uses_the_judge():
    from improv.evaluator.judge import Judge

    judge = Judge(get_model("mock/fixed:ANSWER: Negative"), prompts=None)
    from improv.evaluator.introspection.properties import DATA_DIR

    judge.prompts = DATA_DIR
    assert asyncio.run(P["sentiment"].extract_async("It rained all week.", judge)) == "negative"
    bad = Judge(get_model("mock/fixed:hmm, hard to say"), prompts=DATA_DIR)
    assert asyncio.run(P["sentiment"].extract_async("It rained.", bad)) is None
    with pytest.raises(ConfigError):
        asyncio.run(P["sentiment"].extract_async("x", None))
    with pytest.raises(ValueError):
        P["sentiment"].extract("x")


@pytest.mark.parametrize("name,reply,value", [
    ("second_character", "b", "b"),
    ("second_character", '"B".', "b"),
    ("second_character", "The second character is b", None),
    ("second_character", "bc", None),
    ("first_word", "Hello", "hello"),
    ("first_word", "hello world", None),
    ("starts_with_vowel", "True", "true"),
    ("starts_with_vowel", "yes", None),
    ("is_even", "odd", "odd"),
    ("is_even", "3", None),
    ("length_bucket", "Few", "few"),
    ("sentiment", "positive.", "positive"),
    ("sentiment", "mostly positive", None),
])
def test_parse_answer_is_strict(name, reply, value):
    assert parse_answer(reply, P[name]) == value


def test_hypothetical_prompt_wording():
    t = load_templates()
    text = hypothetical_prompt("Name {an} animal.", P["second_character"], t)
    assert text == ('Suppose you were asked the following question: "Name {an} animal." What would be the second '
                    'character of your response? For example, if your response were "abc", respond with "b". '
                    "Respond only with that character.")
    assert "Would your response start with a vowel?" in hypothetical_prompt("x", P["starts_with_vowel"], t)


def test_first_token_distribution():
    lp = [TokenLogprob(token=" ", logprob=0.0),
          TokenLogprob(token="true", logprob=-0.1, top_logprobs=[
              TopLogprob(token="true", logprob=-0.2231), TopLogprob(token="false", logprob=-1.6094),
              TopLogprob(token="maybe", logprob=-3.0)])]
    dist, mass = first_token_distribution(Choice(text="true", logprobs=lp), P["starts_with_vowel"])
    assert dist["true"] == pytest.approx(0.8 / 1.0, abs=1e-3)
    assert dist["false"] == pytest.approx(0.2, abs=1e-3)
    assert mass == pytest.approx(1.0, abs=1e-3)
    assert first_token_distribution(Choice(text="x"), P["starts_with_vowel"]) is None
    assert first_token_distribution(Choice(text="x", logprobs=lp), P["first_word"]) is None


def test_builtin_tasks_load_and_select():
    tasks = load_tasks()
    assert {"animals", "numbers", "multiple_choice", "story_opening", "short_answers"} <= set(tasks)
    items = select(tasks, ["short_answers"], ["is_even"])
    assert items and all("Pick a number" in i.prompt or "sequence" in i.prompt for i in items)
    assert len(select(tasks, ["animals"], None, 3)) == 3


def test_user_task_file(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nproperties: [first_character]\ntemplate: 'Say {item}.'\nitems: [a, b]\n")
    tasks = load_tasks([f], builtin=False)
    assert [i.prompt for i in tasks["mine"].items] == ["Say a.", "Say b."]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nproperties: [no_such]\nprompts: [x]\n")
    with pytest.raises(ConfigError, match="bad.yaml.*no_such"):
        load_tasks([bad], builtin=False)
    with pytest.raises(ConfigError, match="unknown task"):
        select(tasks, ["nope"])
