"""`improv tui -m ... --chat-template/--cache/--max-connections` reach every model a screen
builds: the screens ask the app's options for their run spec."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen

from improv.tui.app import AppOptions, ImprovApp, run_spec


def test_the_apps_model_wide_settings_join_each_screens_spec(tmp_path):
    template = tmp_path / "t.jinja"
    app = ImprovApp("organism", chat_template=str(template), cache=True, max_connections=3)
    spec = app.options.spec("mock/echo", persona=None, temperature=0.5)
    assert (spec.model, spec.chat_template, spec.cache, spec.max_connections) == ("mock/echo", str(template), True, 3)
    assert spec.config.temperature == 0.5


def test_without_them_a_screen_gets_the_defaults():
    default = AppOptions().spec("mock/echo")
    assert default.chat_template is None and default.cache is False and default.max_connections == 16


async def test_a_screen_under_a_bare_app_still_gets_a_spec():
    app = App()
    async with app.run_test():
        screen = Screen()
        await app.push_screen(screen)
        assert run_spec(screen, "mock/echo").model == "mock/echo"


def test_improv_tui_offers_the_model_wide_options(capsys):
    from improv import cli

    try:
        cli.main(["tui", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "--chat-template" in out and "--cache" in out and "--max-connections" in out
