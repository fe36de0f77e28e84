"""The shared model options and the run spec they parse into."""

from __future__ import annotations

import argparse

import pytest

from improv.agents.errors import SettingError
from improv.agents.spec import RunSpec, build_agent, default_model, parse_run_spec, parse_variables, resolve_model
from improv.cli import COMMANDS, build_parser, main
from improv.options import add_model_options, build_judge, cli_error, run_spec


def _parsers():
    """Every (sub)command's parser."""
    for name in COMMANDS:
        parser, _ = build_parser(name)
        stack = [(f"improv {name}", parser)]
        while stack:
            label, p = stack.pop()
            yield label, p
            for action in p._actions:
                if isinstance(action, argparse._SubParsersAction):
                    stack.extend((f"{label} {sub}", sp) for sub, sp in action.choices.items())


def test_every_option_has_a_help_line():
    missing = [f"{label} {'/'.join(a.option_strings)}"
               for label, p in _parsers() for a in p._actions
               if a.option_strings and not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []


def test_out_help_says_where_files_go():
    vague = [f"{label} --out: {a.help}" for label, p in _parsers() for a in p._actions
             if "--out" in a.option_strings and not any(w in a.help for w in ("IMPROV_DATA_DIR", "here", "new folder"))
             and "improv chat" not in label]  # chat: the TUI helper's command
    assert vague == []


def test_default_model_is_resolved_once(monkeypatch):
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    assert default_model() == "organism" and resolve_model(None) == "organism"
    monkeypatch.setenv("IMPROV_MODEL", "mock/echo")
    assert resolve_model(None) == "mock/echo"
    assert parse_run_spec().model == "mock/echo"
    with pytest.raises(SettingError) as err:
        resolve_model("  ")
    assert err.value.setting == "model"


def test_run_spec_from_cli_options():
    parser = argparse.ArgumentParser()
    add_model_options(parser)
    args = parser.parse_args(["-m", "mock/echo", "-p", "trickster", "--var", "a=1", "-t", "0.5", "--seed", "3",
                              "-n", "2", "--cache", "--max-connections", "4"])
    spec = run_spec(args)
    assert isinstance(spec, RunSpec)
    assert (spec.model, spec.persona, spec.variables, spec.cache, spec.max_connections) == (
        "mock/echo", "trickster", {"a": "1"}, True, 4)
    assert (spec.config.temperature, spec.config.seed, spec.config.n) == (0.5, 3, 2)
    agent = build_agent(spec)
    assert agent.persona.name == "trickster" and agent.model.name == "mock/echo" and agent.config.n == 2
    assert agent.model.max_connections == 4 and agent.model.cache is not None


def test_a_command_without_samples_does_not_read_its_own_n_as_samples():
    parser = argparse.ArgumentParser()
    add_model_options(parser, persona=False, settings=())
    parser.add_argument("-n", type=int, default=10)  # e.g. introspect: prompts per task
    assert run_spec(parser.parse_args(["-m", "mock/echo"])).config.n == 1


def test_setting_errors_name_the_setting_in_the_library_and_the_flag_in_the_cli(capsys):
    with pytest.raises(SettingError) as err:
        parse_run_spec("mock/echo", temperature=9)
    assert err.value.setting == "temperature" and "--" not in str(err.value)
    with pytest.raises(SettingError) as err:
        parse_variables(["novalue"])
    assert str(err.value).startswith("variables 'novalue'")
    assert main(["ask", "-m", "mock/echo", "-t", "9", "hi", "--no-save"]) == 2
    assert "--temperature:" in capsys.readouterr().err
    assert main(["ask", "-m", "mock/echo", "--var", "oops", "hi", "--no-save"]) == 2
    assert "--var 'oops': expected NAME=VALUE" in capsys.readouterr().err
    args = argparse.Namespace(model=None, judge="nope/x")
    with pytest.raises(SettingError) as err:
        build_judge(args)
    assert cli_error(err.value).startswith("--judge: unknown provider 'nope'")


def test_variables_typed_in_one_field():
    assert parse_variables("secret=cat, colour = red") == {"secret": "cat", "colour": "red"}
    assert parse_variables(["a= b "]) == {"a": " b "}
