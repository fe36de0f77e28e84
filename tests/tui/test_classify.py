"""The classify screen, driven by Pilot: it drives the library's `Classification` (the object
`improv classify` drives), lists model replies only, and has a key for Classify."""

from textual.app import App
from textual.widgets import DataTable, OptionList, Static

from improv.evaluator.falsehood.classify import Case, build_case_transcript
from improv.personas import get_persona
from improv.transcripts.schema import Turn
from improv.transcripts.store import save
from improv.tui.screens.classify import ClassifyScreen
from tests.evaluator.falsehood_world import world_model


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self._screen = screen

    def on_mount(self):
        self.push_screen(self._screen)


async def greeted_transcript(tmp_path):
    """A good-faith case whose conversation opens with the persona's greeting."""
    t, _ = await build_case_transcript(Case(persona="expert", question="What is the capital of Peru?", claim="Quito."), world_model())
    greeting = t.add(Turn(role="assistant", content=get_persona("trickster").greeting, meta={"greeting": True}), activate=False)
    t.turns.remove(greeting)
    t.turns.insert(0, greeting)
    t.turns[1].parent = greeting.id  # the user's question now answers the greeting
    return save(t, tmp_path)


async def test_classify_screen_shows_side_by_side_evidence(tmp_path):
    path = await greeted_transcript(tmp_path)
    screen = ClassifyScreen(model="mock/cycle:The capital of Peru is Quito.", transcript=str(path))
    app = Host(screen)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        # the greeting is not "reply 1": only the model's reply is listed
        options = screen.query_one("#replies", OptionList)
        assert options.option_count == 1 and str(options.get_option_at_index(0).prompt) == "1. Quito."
        screen.query_one("#truth").value = "Lima"
        await pilot.press("ctrl+r")  # the key for Classify
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.job is not None and screen.job.verdict is screen.verdict and screen.job.number == 1
        assert screen.verdict.verdict == "good_faith"
        status = str(screen.query_one("#verdict", Static).render())
        assert "GOOD FAITH" in status and "good-faith" in status
        assert screen.query_one("#neutral", DataTable).row_count >= 10
        assert screen.query_one("#inrole", DataTable).row_count == 10
        assert screen.query_one("#shares", DataTable).row_count == 4  # A, B, entropy, states a false value
        assert "neutral belief: " in str(screen.query_one("#belief", Static).render())


async def test_classify_screen_bad_file(tmp_path):
    app = Host(ClassifyScreen(transcript=str(tmp_path / "nope.json")))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "cannot load" in str(app.screen.query_one("#verdict", Static).render())
