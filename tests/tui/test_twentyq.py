"""The 20 Questions screen inside the app, driven with Pilot: it drives two `Game` objects, saves
each game as it happens, labels every figure with its turn and setting, and is usable at 80x24."""

from __future__ import annotations

import json

from textual.widgets import OptionList, Select, Static

from improv.tui.app import ImprovApp
from improv.tui.screens.twentyq import TwentyQScreen, bars
from improv.tui.widgets.field import Field

BIG, SMALL = (160, 48), (80, 24)


def text_of(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


async def wait_idle(pilot, screen):
    for _ in range(400):
        await pilot.pause(0.02)
        if not screen.busy:
            await pilot.pause()
            return
    raise AssertionError("screen stayed busy")


async def open_screen(pilot) -> TwentyQScreen:
    await pilot.pause()
    await pilot.press("2")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, TwentyQScreen)
    return screen


async def ask(pilot, screen, question: str) -> None:
    screen.query_one("#question", Field).focus()
    screen.query_one("#question", Field).value = question
    await pilot.press("enter")
    await wait_idle(pilot, screen)


async def test_a_game_is_saved_as_it_happens_and_figures_name_their_turn(tmp_path):
    app = ImprovApp(model="mock/cycle:Yes.|It was a cat.|It was a [bold]rose[/bold].", out=tmp_path)
    async with app.run_test(size=BIG) as pilot:
        screen = await open_screen(pilot)
        screen.k = 4
        await ask(pilot, screen, "Is it [red]alive[/red]?")
        saved = sorted(tmp_path.glob("*.json"))
        assert len(saved) == 2  # both games, saved on the first answer, paths shown
        for side in ("left", "right"):
            assert "saved: " + str(tmp_path) in text_of(screen, f"#title-{side}")
            ol = screen.query_one(f"#turns-{side}", OptionList)
            assert ol.option_count == 2
            # typed and model text is shown literally, never as markup
            assert "Is it [red]alive[/red]?" in str(ol.get_option_at_index(1).prompt)
        assert screen.at == 1
        await pilot.press("ctrl+r")
        await wait_idle(pilot, screen)
        for side in ("left", "right"):
            dist = text_of(screen, f"#dist-{side}")
            assert "turn 1 · mock/cycle" in dist and "K=4" in dist and "█" in dist
            assert screen.query_one(f"#plot-{side}").plt._active.monitor.title.startswith("turn 1:")
        # the saved file holds the resampled branches
        data = json.loads(saved[0].read_text())
        assert sum(1 for t in data["turns"] if t["meta"].get("resampled")) == 4
        # select the start: the figures show turn 0 (not yet measured), never turn 1's
        ol = screen.query_one("#turns-left", OptionList)
        ol.focus()
        ol.highlighted = 0
        await pilot.pause()
        assert screen.at == 0 and "turn 0: no reveals sampled here yet" in text_of(screen, "#dist-left")
        await pilot.press("ctrl+l")
        await wait_idle(pilot, screen)
        assert set(screen.games["left"].nodes) == {0, 1} and set(screen.games["right"].nodes) == {0, 1}
        assert screen.query_one("#curve").plt._active.monitor.title.startswith("commitment curve")
        # exact posterior is refused by the mock model: a status line, not a crash
        await pilot.press("ctrl+e")
        await wait_idle(pilot, screen)
        assert "error" in text_of(screen, "#status") and "score" in text_of(screen, "#status")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.query_one("#turns-right", OptionList).option_count == 1 and screen.games == {}


async def test_exact_posterior_belongs_to_its_turn_on_the_builtin_model(tmp_path):
    app = ImprovApp(model="organism", out=tmp_path)
    async with app.run_test(size=BIG) as pilot:
        screen = await open_screen(pilot)
        screen.k = 4
        await ask(pilot, screen, "Is it alive?")
        await ask(pilot, screen, "Is it an animal?")
        await pilot.press("ctrl+e")  # at turn 2
        await wait_idle(pilot, screen)
        assert "turn 2 exact posterior" in text_of(screen, "#dist-right")
        ol = screen.query_one("#turns-right", OptionList)
        ol.focus()
        ol.highlighted = 1
        await pilot.pause()
        await pilot.press("ctrl+r")  # resample at turn 1: no turn-2 posterior may stay on screen
        await wait_idle(pilot, screen)
        dist = text_of(screen, "#dist-right")
        assert screen.at == 1 and "turn 1 · organism" in dist and "exact posterior" not in dist
        title = screen.query_one("#plot-right").plt._active.monitor.title
        assert title.startswith("turn 1: sampled reveals")


async def test_protocols_escape_home_and_80x24(tmp_path):
    app = ImprovApp(model="mock/cycle:Yes.|<secret>cat</secret>|It was a dog.", out=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_screen(pilot)
        screen.k = 2
        # usable at 80x24: the question field and the footer are on screen, the body scrolls
        field = screen.query_one("#question", Field)
        assert field.region.bottom <= 24 and field.region.height >= 1
        body = screen.query_one("#body")
        assert body.virtual_size.height > body.region.height and body.allow_vertical_scroll
        # the private-memory protocol, chosen in the screen
        screen.query_one("#protocol", Select).value = "private"
        await pilot.pause()
        await ask(pilot, screen, "Is it alive?")
        right = screen.games["right"]
        assert right.condition == "private" and right.record.memory
        assert all("<secret>" not in t.content for t in right.transcript.turns)
        # Escape leaves the field; the app's home key goes home
        field.focus()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.focused, Field)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not isinstance(app.screen, TwentyQScreen)


def test_bars_helper():
    t = bars({"cat": 3, "dog": 1}, 4, width=8)
    lines = str(t).splitlines()
    assert lines[0].startswith("cat") and lines[0].count("█") == 6 and lines[0].endswith("3/4")
    assert lines[1].count("█") == 2
    assert str(bars({}, 0)) == ""


async def test_the_screen_and_the_cli_play_the_same_game(tmp_path, monkeypatch, capsys):
    """The same questions to the same model through the screen and through `improv twentyq play`:
    the same turns, labels and persona, because both drive `Game`."""
    import asyncio

    from improv.cli import main

    script = tmp_path / "q.txt"
    script.write_text("Is it alive?\nIs it an animal?\n")
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    code = await asyncio.to_thread(main, ["twentyq", "play", "-m", "mock/fixed:Yes.", "--questioner", f"script:{script}",
                                          "--no-save", "--json"])
    assert code == 0
    cli = json.loads(capsys.readouterr().out)["transcript"]
    app = ImprovApp(model="mock/fixed:Yes.", out=tmp_path / "tui")
    async with app.run_test(size=BIG) as pilot:
        screen = await open_screen(pilot)
        for q in ("Is it alive?", "Is it an animal?"):
            await ask(pilot, screen, q)
        tui = json.loads(screen.games["left"].transcript.model_dump_json())

    def line(t):
        main_leaf = {x["id"]: x for x in t["turns"]}
        path, leaf = [], t["meta"]["main_leaf"]
        while leaf:
            path.append(main_leaf[leaf])
            leaf = main_leaf[leaf]["parent"]
        return [(x["role"], x["content"], x["meta"].get("kind"), x["meta"].get("label"), x["persona"], x["system_prompt"])
                for x in reversed(path) if x["meta"].get("kind") in ("question", "answer") and not x["meta"].get("give_up")]

    assert line(cli) == line(tui) and len(line(cli)) == 4
    keys = ("condition", "objects", "answer_format", "answers", "questions", "labels")
    assert {k: cli["meta"][k] for k in keys} == {k: tui["meta"][k] for k in keys}


async def test_logit_lens_readout_per_turn_on_the_builtin_model(tmp_path):
    # the committed answerer's own readout names its secret; the readout belongs to its turn
    app = ImprovApp(model="organism", out=tmp_path)
    async with app.run_test(size=BIG) as pilot:
        screen = await open_screen(pilot)
        screen.fixed_secret = "cat"
        await ask(pilot, screen, "Is it alive?")
        await pilot.press("ctrl+t")  # at turn 1
        await wait_idle(pilot, screen)
        right = text_of(screen, "#dist-right")
        assert "turn 1 logit lens" in right and "held cat ranks 1/54" in right, right
        assert "turn 1 logit lens" in text_of(screen, "#dist-left")
        ol = screen.query_one("#turns-right", OptionList)
        ol.focus()
        ol.highlighted = 0
        await pilot.pause()
        assert "logit lens" not in text_of(screen, "#dist-right")  # turn 0 was not read


async def test_logit_lens_on_a_model_without_weights_is_a_status_line(tmp_path):
    app = ImprovApp(model="mock/cycle:Yes.|It was a dog.", out=tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_screen(pilot)
        await ask(pilot, screen, "Is it alive?")
        await pilot.press("ctrl+t")
        await wait_idle(pilot, screen)
        assert "error" in text_of(screen, "#status") and "in-process" in text_of(screen, "#status")
