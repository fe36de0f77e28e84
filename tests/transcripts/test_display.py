"""What a terminal view shows of a transcript's text: the first SHOW_CHARS characters of a
message (sanitised), a name cut at NAME_CHARS, and how much was left out."""

from improv.transcripts.display import NAME_CHARS, SHOW_CHARS, excerpt, more, short_line


def test_excerpt_counts_what_it_leaves_out():
    assert excerpt("abc") == excerpt("abc", SHOW_CHARS)
    assert excerpt("abc", 3).hidden == 0 and excerpt("abc", 3).text == "abc"
    cut = excerpt("ab\x1b[2Jcdef", 4)
    assert cut.text == "ab\\x1b[" and cut.hidden == 6  # counted in characters of the original


def test_excerpt_escapes_and_keeps_line_breaks():
    shown = excerpt("one\ntwo\t\x07\u202e")
    assert shown.text == "one\ntwo\t\\x07\\u202e" and shown.hidden == 0


def test_short_line_is_one_line_and_says_how_much_it_cut():
    assert short_line("a\nb") == "a\\x0ab"
    name = "n" * NAME_CHARS
    assert short_line(name) == name
    assert short_line(name + "\x1b" * 1001) == name + "… (1,001 more characters)"
    assert short_line("\x1b" * 3, 2) == "\\x1b\\x1b… (1 more character)"


def test_more_says_the_number_in_words():
    assert [more(0), more(1), more(51_380_224)] == ["0 more characters", "1 more character", "51,380,224 more characters"]
