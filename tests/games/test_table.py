"""The object tables: both shipped tables validate; the validator catches what it claims to."""

import pytest

from improv.agents.errors import ConfigError
from improv.games.answers import read_reveal
from improv.games.check_table import check_table, main
from improv.games.table import load_table, parse_table


@pytest.mark.parametrize("spec", ["builtin", "everyday"])
def test_shipped_tables_are_valid(spec):
    assert check_table(load_table(spec)) == []


def test_everyday_table_is_large_and_keeps_the_builtin_world_apart():
    everyday, builtin = load_table("everyday"), load_table()
    assert len(everyday.objects) >= 200 and len(everyday.aliases) >= 50
    assert builtin.name == "builtin" and len(builtin.objects) == 54  # the built-in model's world is unchanged
    assert load_table(None) is builtin
    # the everyday table knows what real models reveal; the built-in one does not
    assert read_reveal("I was thinking of a toothbrush.", everyday).in_table
    assert not read_reveal("I was thinking of a toothbrush.", builtin).in_table
    assert read_reveal("It was a pair of scissors", everyday).label == "scissors"
    assert read_reveal("The object was a mobile phone.", everyday).label == "phone"
    assert read_reveal("It was some cookies", everyday).label == "cookie"
    assert read_reveal("I think it was a teddy bear!", everyday).label == "teddy bear"
    assert read_reveal("I'd say, it's a coconut ice cream.", everyday).label == "ice cream"  # the head noun
    assert read_reveal("I give the envelope to you.", everyday).non_reveal == "no object named"


def _table(objects, aliases=None, attributes=("alive", "animal", "plant", "big", "handheld")):
    return parse_table({"attributes": [{"key": k, "question": f"Is it {k}?"} for k in attributes],
                        "objects": objects, "aliases": aliases or {}}, "test.yaml", name="test")


def test_check_finds_contradictions_and_twins():
    problems = check_table(_table({
        "cat": ["animal"],                    # an animal that is not alive
        "oak": ["alive", "plant", "animal"],  # both plant and animal
        "van": ["big", "handheld"],           # big and hand-held
        "cup": ["handheld"], "mug": ["handheld"],  # same vector, not aliases
    }))
    assert "cat: animal without alive" in problems
    assert "oak: both animal and plant" in problems
    assert "van: both big and handheld" in problems
    assert any("same attribute vector" in p and "cup" in p and "mug" in p for p in problems)
    assert len(problems) == 4


def test_check_aliases_and_ambiguous_writings():
    problems = check_table(_table({"glass": ["handheld"], "lens": []}, aliases={"glasses": "lens", "glass": "lens"}))
    assert "alias 'glass' is also an object" in problems
    assert any("'glasses' could be any of glass, lens" in p for p in problems)
    assert check_table(_table({"cup": ["handheld"], "bus": ["big"]}, aliases={"mug": "cup"})) == []


def test_check_script_exit_codes(tmp_path, capsys):
    assert main(["builtin", "everyday"]) == 0
    out = capsys.readouterr().out
    assert "everyday:" in out and "ok" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("attributes:\n  - {key: alive, question: 'Is it alive?'}\n  - {key: animal, question: 'Is it an animal?'}\n"
                   "objects:\n  cat: [animal]\n  dog: [animal]\n")
    assert main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "cat: animal without alive" in out and "same attribute vector" in out


def test_bad_table_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_table(str(tmp_path / "missing.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("objects: [\n")
    with pytest.raises(ConfigError, match="line"):
        load_table(str(broken))
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("attributes:\n  - {key: alive, question: 'Is it alive?'}\nobjects:\n  cat: [furry]\n")
    with pytest.raises(ConfigError, match="unknown attributes"):
        load_table(str(unknown))
