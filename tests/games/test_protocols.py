"""The four commitment protocols (uncommitted, committed, private memory, sealed) on the same
`Game` object: against the fake OpenAI server with a scripted answerer (real SDK, real HTTP), on
the built-in model, and saved games from before the game object read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from improv.agents.registry import get_model
from improv.cli import main
from improv.games.engine import ModelQuestioner, ScriptQuestioner
from improv.games.game import CHOOSE, Game, answerer_messages, play_games, seal_digest
from improv.games.state import PROTOCOLS
from improv.transcripts.store import load
from tests.fakes.openai_server import FakeOpenAI

OLD = Path(__file__).parent / "data" / "old_game.json"  # written by play_game before the Game object


def scripted(log: list):
    """A scripted answerer holding a cat when its context holds one, and a questioner; every request logged."""

    def reply(messages, body):
        system = next((m["content"] for m in messages if m["role"] == "system"), "") or ""
        last = messages[-1]["content"]
        log.append((system, messages))
        if "as the guesser" in system:  # games/prompts/questioner.txt
            return "Is it alive?"
        if last == CHOOSE:
            return "<secret>cat</secret>"
        holds = "<secret>cat</secret>" in system or "secret object is cat" in system
        if "give up" in last:
            return "It was a cat." if holds else "It was a rose."
        if last.startswith(("Is it a ", "Is it an ")):  # a mass-test probe: yes only to the object it holds
            return "Yes." if holds and last.startswith("Is it a cat?") else "No."
        if "alive" in last or "animal" in last:
            return "Yes."
        return "No."

    return reply


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    return tmp_path


def test_four_protocols_in_batch_against_the_fake_openai_server(capsys, data_dir, monkeypatch, tmp_path):
    log: list = []
    with FakeOpenAI(replies=scripted(log), api_key="sk-test") as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        code = main(["twentyq", "batch", "-m", "openai/gpt-fake", "--conditions", ",".join(PROTOCOLS), "-n", "1",
                     "--turns", "2", "-k", "4", "--questions", str(_script(tmp_path)), "--out", str(tmp_path / "run"),
                     "--mass", "--json"])
        out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)
    conds = data["conditions"]
    assert list(conds) == list(PROTOCOLS)
    # the same metrics for all four: reveal entropy, fit, objects possible, per turn with n
    for c in PROTOCOLS:
        assert [r["at"] for r in conds[c]["turns"]] == [0, 1, 2]
        assert all(r["entropy"]["n"] == 1 and r["consistency"]["n"] is not None for r in conds[c]["turns"])
    # the held object is named: the tool's secret (committed), the answerer's own choice (private, sealed)
    assert conds["private"]["secret"]["value"] == 1.0 and conds["private"]["chose"]["value"] == 1.0
    assert conds["uncommitted"]["secret"] is None
    # the mass test at the last turn, for all four: the private answerer says yes to its cat only
    assert all(conds[c]["mass_total"]["n"] == 1 for c in PROTOCOLS)
    assert conds["private"]["mass_total"]["value"] == pytest.approx(1.0) and conds["private"]["mass_top_is_held"]["value"] == 1.0
    assert conds["uncommitted"]["mass_no_to_everything"]["value"] == 1.0 and conds["uncommitted"]["mass_top_is_held"] is None
    # sealed: the answerer keeps nothing private, so the scripted answerer says rose: the seal stays shut
    assert conds["sealed"]["seal"]["value"] == 0.0 and conds["sealed"]["seal"]["n"] == 12
    saved = {t["meta"]["condition"]: t for t in
             (json.loads(p.read_text()) for p in (tmp_path / "run" / "transcripts").glob("*.json"))}
    private, sealed = saved["private"], saved["sealed"]
    # the private memory is stored for analysis, never in a visible turn
    assert private["meta"]["memory"][0]["text"] == "<secret>cat</secret>" and private["meta"]["secret"] == "cat"
    assert not any("<secret>" in t["content"] or "cat" in t["content"].lower() and t["role"] == "user"
                   for t in private["turns"])
    # every answerer request after the choice holds the memory in its system prompt
    answer_requests = [s for s, msgs in log if "<secret>cat</secret>" in s]
    assert answer_requests and all("Your private memory" in s for s in answer_requests)
    # sealed: the seal is a visible, scripted turn, and the reveal is checked against it
    seal = sealed["meta"]["seal"]
    turn = next(t for t in sealed["turns"] if t["id"] == seal["turn_id"])
    assert turn["content"] == f"Sealed: sha256 {seal['digest']}" and turn["scripted"]
    assert seal["digest"] == seal_digest(seal["salt"], "cat")
    reveals = [t for t in sealed["turns"] if t["meta"].get("kind") == "reveal"]
    assert reveals and all(t["meta"]["seal_matches"] is False for t in reveals)


async def test_a_questioner_model_never_sees_the_private_memory():
    log: list = []
    with FakeOpenAI(replies=scripted(log), api_key="sk-test") as srv:
        import os

        os.environ["OPENAI_API_KEY"], os.environ["OPENAI_BASE_URL"] = "sk-test", srv.base_url
        try:
            answerer, asker = get_model("openai/gpt-fake"), get_model("openai/gpt-fake")
            questioner = ModelQuestioner(asker)
            game = await Game.new(answerer, condition="private").play(questioner, turns=3)
            seen = [questioner.messages(game.exchanges[:i]) for i in range(len(game.exchanges) + 1)]
            await answerer.aclose()
            await asker.aclose()
        finally:
            del os.environ["OPENAI_API_KEY"], os.environ["OPENAI_BASE_URL"]
    memory = game.record.memory[0].text
    assert memory == "<secret>cat</secret>" and game.secret == "cat"
    questioner_requests = [msgs for system, msgs in log if "as the guesser" in system]
    assert len(questioner_requests) == 3
    for msgs in questioner_requests + [[m.model_dump() for m in s] for s in seen]:
        assert "secret" not in json.dumps(msgs).lower() and "cat" not in json.dumps(msgs).lower()
    # nor is it in the visible transcript; the answerer's own messages hold it
    assert all("<secret>" not in t.content for t in game.transcript.turns)
    assert memory in answerer_messages(game.transcript, 1)[0].content
    assert game.exchanges[0].label == "yes" and game.transcript.turn(game.record.main_leaf).content == "It was a cat."


async def test_protocols_on_the_builtin_model():
    model = get_model("organism")
    try:
        games = {c: (await play_games(model, condition=c, games=1, turns=3, seed=1))[0] for c in PROTOCOLS}
        for c, game in games.items():
            node = await game.analyse(k=8, exact=True)
            assert node.sample.k == 8 and node.posterior is not None and node.remaining
        # private: the built-in model chose an object of its table in the private call, and holds it
        private = games["private"]
        assert private.record.memory[0].prompt == "I give up, what was it?" and private.secret in private.table.objects
        assert private.secret in answerer_messages(private.transcript, 1, model=model)[0].content
        assert all(not q.prompt and private.secret not in q.question.split() for q in private.exchanges)
        assert games["committed"].nodes[3].secret_share is not None
        sealed = games["sealed"]
        assert sealed.record.seal is not None and sealed.nodes[3].sample.seal_matches is not None
        # the seal turn is part of what the sealed answerer sees, before the first question
        msgs = answerer_messages(sealed.transcript, 0, model=model)
        assert msgs[-2].content.startswith("Sealed: sha256 ")
    finally:
        await model.aclose()


def test_games_saved_before_the_game_object_read_back(capsys, data_dir):
    store = data_dir / "transcripts"
    store.mkdir()
    shutil.copy(OLD, store / "0ldgame0cafe.json")
    t = load(store / "0ldgame0cafe.json")
    game = Game.open(t, None)
    assert game.condition == "committed" and game.secret == "cat" and game.table.name == "builtin"
    assert [qa.label for qa in game.exchanges] == ["yes", "no", "invalid"]  # the mock cycled onto a reveal
    assert game.remaining(2) == game.checker.possible([("Is it alive?", "yes"), ("Is it an animal?", "no")])
    # even older: no table name, no bare question kept
    older = json.loads(OLD.read_text())
    del older["meta"]["objects"], older["meta"]["answer_format"]
    for turn in older["turns"]:
        turn["meta"].pop("question", None)
    (store / "older.json").write_text(json.dumps(older))
    assert Game.open(load(store / "older.json"), None).exchanges[0].question == "Is it alive? Answer Yes or No."
    # resample by id, as other transcript commands take one
    code = main(["twentyq", "resample", "0ldgame", "-m", "mock/fixed:It was a cat.", "-k", "3", "--at", "1",
                 "--flip", "1", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    a = json.loads(out.out)["analysis"]
    assert a["secret"] == "cat" and a["sample"]["distribution"]["counts"] == {"cat": 3}
    # text output: no raw Python values, no "1 replies"
    assert main(["twentyq", "resample", "0ldgame", "-m", "mock/cycle:It was a cat.|No.", "-k", "2", "--flip", "1"]) == 0
    text = capsys.readouterr().out
    assert "{" not in text and "1 replies" not in text and "labels " in text


def _script(tmp_path: Path) -> Path:
    p = tmp_path / "q.txt"
    p.write_text("Is it alive?\nIs it an animal?\n")
    return p


def test_protocol_settings_are_checked(capsys, data_dir):
    assert main(["twentyq", "play", "-m", "mock/fixed:Yes.", "--condition", "private", "--secret", "cat"]) == 2
    assert "--secret" in capsys.readouterr().err
    assert main(["twentyq", "batch", "-m", "mock/fixed:x", "--conditions", "sealed,telepathic"]) == 2
    assert "--conditions" in capsys.readouterr().err
    with pytest.raises(Exception, match="needs a secret"):
        Game.new(get_model("mock/fixed:x"), condition="committed")


def test_play_private_and_sealed_from_the_cli(capsys, data_dir, tmp_path):
    code = main(["twentyq", "play", "-m", "mock/cycle:<secret>lamp</secret>|No.|It was a lamp.", "--condition", "sealed",
                 "--questioner", f"script:{_script(tmp_path)}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "sealed choice: Sealed: sha256" in out and "seal check: the reveal opens the seal" in out
    code = main(["twentyq", "play", "-m", "mock/cycle:<secret>lamp</secret>|No.|No.|It was a lamp.", "--condition",
                 "private", "--questioner", f"script:{_script(tmp_path)}", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["transcript"]["meta"]["memory"][0]["choice"] == "lamp"
    assert not any("lamp" in t["content"] for t in data["transcript"]["turns"] if t["meta"].get("kind") != "reveal")


async def test_scripted_questioner_sees_only_visible_exchanges():
    game = Game.new(get_model("mock/cycle:<secret>cat</secret>|Yes.|It was a cat."), condition="private")
    seen = []

    class Spy(ScriptQuestioner):
        async def ask(self, history):
            seen.append(history)
            return await super().ask(history)

    await game.play(Spy(["Is it alive?"]), turns=2)
    assert [[qa.question for qa in h] for h in seen] == [[], ["Is it alive?"]]
    assert all("secret" not in qa.model_dump_json() for h in seen for qa in h)
