"""The one sanitiser: nothing unsafe survives it, JSON stays the same value, and it is linear."""

import json
import re
import time

from hypothesis import given
from hypothesis import strategies as st

from improv.agents.text import json_safe, one_line, printable

UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2070) | st.sampled_from("\x1b\x07\x9b\u202e\ud800"))


@given(any_text)
def test_printable_leaves_nothing_unsafe_and_keeps_lines(text):
    out = printable(text)
    assert not UNSAFE.search(out)
    assert out.count("\n") == text.count("\n") and out.count("\t") == text.count("\t")
    out.encode("utf-8")  # lone surrogates are gone: always writable


@given(any_text)
def test_one_line_is_one_line(text):
    out = one_line(text)
    assert not UNSAFE.search(out) and "\n" not in out and "\t" not in out


@given(st.recursive(any_text | st.integers(), lambda c: st.lists(c, max_size=3) | st.dictionaries(any_text, c, max_size=3),
                    max_leaves=8))
def test_json_safe_is_the_same_json_value(value):
    dumped = json.dumps(value, ensure_ascii=False)
    safe = json_safe(dumped)
    assert not UNSAFE.search(safe)
    assert json.loads(safe) == json.loads(dumped)


def test_known_sequences_are_shown_escaped():
    assert printable("a\x1b[2Jb\x07\r\n") == "a\\x1b[2Jb\\x07\\x0d\n"
    assert one_line("x\u202ey\n") == "x\\u202ey\\x0a"


def test_linear_in_the_text():
    text = ("word \x1b[31m " * 400_000)  # ~5 MB, 400,000 escapes
    started = time.monotonic()
    printable(text)
    assert time.monotonic() - started < 3
