import json

import pytest

from improv.agents.agent import Agent
from improv.agents.registry import get_model
from improv.personas import get_persona
from improv.transcripts import Transcript, TranscriptError, Turn, save
from improv.transcripts.replay.compare import exact_scorer, parse_verdict, summarize
from improv.transcripts.replay.inputs import ReplayItem, load_inputs
from improv.transcripts.replay.modes import Regenerate, Rerun

from .replay_helpers import SlowBackend, agent_for, chat_item


def recorded_chat() -> Transcript:
    t = Transcript(title="t")
    u = t.add(Turn(role="user", content="one"))
    a = t.add(Turn(parent=u.id, role="assistant", content="A1", system_prompt="Be terse."))
    u2 = t.add(Turn(parent=a.id, role="user", content="two"))
    t.add(Turn(parent=u2.id, role="assistant", content="A2", system_prompt="Be terse."))
    return t


def test_inputs_files_folders_globs_and_jsonl(tmp_path):
    t = recorded_chat()
    save(t, tmp_path / "store")
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n\n"
        + json.dumps([{"role": "developer", "content": "sys"}, {"role": "user", "content": [{"type": "text", "text": "yo"}]}]) + "\n"
        + json.dumps({"custom_id": "req-7", "body": {"messages": [{"role": "user", "content": "batch"}]}}) + "\n"
    )
    items = load_inputs([str(tmp_path / "store"), str(tmp_path / "*.jsonl"), str(tmp_path / "d.jsonl")])
    assert [i.id for i in items] == [t.id, "d-1", "d-3", "req-7", "d-1~2", "d-3~2", "req-7~2"]
    assert items[2].transcript.messages()[0].content == "sys"  # developer -> system
    assert items[2].origin.endswith("d.jsonl:3")


@pytest.mark.parametrize("line, message", [
    ("{bad", "line 1, column 2: not valid JSON"),
    ('{"messages": []}', "line 1: expected a non-empty list"),
    ('{"messages": [{"role": "tool", "content": "x"}]}', "unsupported role 'tool'"),
    ('{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}', "'image_url' is not supported"),
    ('{"prompt": "x"}', "no 'messages' field"),
])
def test_bad_jsonl_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(TranscriptError, match=message):
        load_inputs([str(path)])


def test_missing_input_is_one_clear_error(tmp_path):
    with pytest.raises(TranscriptError, match="no such file"):
        load_inputs([str(tmp_path / "nope.json")])
    with pytest.raises(TranscriptError, match="matches no file"):
        load_inputs([str(tmp_path / "*.json")])


async def test_regenerate_keeps_recorded_history_and_system_prompt():
    backend = SlowBackend()
    mode = Regenerate(agent_for(backend), k=3)
    item = ReplayItem(id="x", transcript=recorded_chat(), origin="x.json")
    result = await mode(item)
    # two assistant turns regenerated, each on the recorded history with the recorded prompt
    sent = sorted({tuple(m.content for m in c) for c in backend.calls}, key=len)
    assert sent == [("Be terse.", "one"), ("Be terse.", "one", "A1", "two")]
    assert [len(t["replies"]) for t in result.record["turns"]] == [3, 3]
    assert result.record["compared"] == 6 and result.record["matches"] == 0
    new = result.transcript
    assert len([t for t in new.turns if t.role == "assistant"]) == 6
    assert new.meta["history"] == "recorded"


async def test_regenerate_last_only_and_prompt_datasets():
    backend = SlowBackend()
    item = ReplayItem(id="x", transcript=recorded_chat(), origin="x.json")
    result = await Regenerate(agent_for(backend), last_only=True)(item)
    assert len(backend.calls) == 1 and result.record["turns"][0]["index"] == 3
    # a conversation ending with a user turn gets a reply, with nothing to compare
    prompt = ReplayItem(id="p", transcript=chat_item(0).transcript, origin="p")
    prompt.transcript.turns.pop()
    prompt.transcript.active = prompt.transcript.turns[-1].id
    result = await Regenerate(agent_for(backend))(prompt)
    assert result.record["turns"][0]["recorded"] is None and result.record["exact_match"] is None


async def test_persona_replaces_recorded_system_prompt():
    backend = SlowBackend()
    persona = get_persona("assistant")
    agent = agent_for(backend, persona=persona)
    item = ReplayItem(id="x", transcript=recorded_chat(), origin="x.json")
    result = await Regenerate(agent, last_only=True)(item)
    sent = backend.calls[0]
    assert sent[0].role == "system" and sent[0].content == agent.system_prompt != "Be terse."
    assert result.transcript.personas == {persona.name: persona}


async def test_rerun_feeds_its_own_replies():
    model = get_model("mock/cycle:X|Y")
    item = ReplayItem(id="x", transcript=recorded_chat(), origin="x.json")
    backend = model.backend
    calls = []
    original = backend.generate

    async def spy(messages, config):
        calls.append([m.content for m in messages])
        return await original(messages, config)

    backend.generate = spy
    result = await Rerun(Agent(model))(item)
    assert calls == [["Be terse.", "one"], ["Be terse.", "one", "X", "two"]]
    assert [m.content for m in result.transcript.messages()] == ["one", "X", "two", "Y"]
    assert result.transcript.meta["history"] == "replayed"


async def test_judge_agreement_is_recorded():
    agent = agent_for(SlowBackend())
    judge = get_model("mock/cycle:Yes.|no|maybe")
    item = chat_item(0, recorded="different")
    result = await Regenerate(agent, k=3, judge=judge)(item)
    assert result.record["turns"][0]["judge"] == [1.0, 0.0, None]
    assert result.record["judge"] == 0.5


def test_verdicts_and_summary_dedupe():
    assert parse_verdict("**Yes**, they agree") == 1.0 and parse_verdict("No.") == 0.0
    assert parse_verdict("") is None
    recs = [
        {"id": "a", "status": "failed", "error": "status 500: x"},
        {"id": "a", "status": "ok", "compared": 2, "matches": 1, "usage": {"input_tokens": 10, "output_tokens": 4}},
        {"id": "b", "status": "ok", "compared": 2, "matches": 2, "usage": {"input_tokens": 10, "output_tokens": 4}},
    ]
    from improv.transcripts.replay.compare import Prices

    s = summarize(recs, Prices(input=1.0, output=2.0))
    assert s.overall.failed == 0 and s.overall.done == 2
    assert s.overall.exact_match == 0.75
    assert s.overall.cost == pytest.approx((20 * 1 + 8 * 2) / 1e6)


def test_exact_scorer_on_siblings():
    t = recorded_chat()
    first = t.turns[0]
    t.add(Turn(parent=first.id, role="assistant", content="A1"), activate=False)
    assert exact_scorer(t)["score"] == 1.0
    t.add(Turn(parent=first.id, role="assistant", content="other"), activate=False)
    assert exact_scorer(t)["score"] == 0.5


async def test_twentyq_rescore_scorer_counts_consistent_objects(tmp_path):
    from improv.games.engine import ScriptQuestioner, play_game
    from improv.games.table import load_table
    from improv.commands.replay import resolve_scorer

    model = get_model("mock/cycle:Yes.|No.")
    game = await play_game(model, ScriptQuestioner(["Is it alive?", "Is it an animal?"]), turns=3)
    scorer = resolve_scorer("twentyq")
    result = scorer(game)
    table = load_table()
    assert result["score"] == len(table.remaining([("alive", True), ("animal", False)]))
    assert result["used"] == 2
    with pytest.raises(Exception, match="not a 20 Questions game"):
        scorer(recorded_chat())
    # a game on another table is scored on that table, not the built-in one
    everyday = load_table("everyday")
    game = await play_game(get_model("mock/cycle:Yes.|No."), ScriptQuestioner(["Is it alive?", "Is it an animal?"]),
                           turns=3, table=everyday)
    assert scorer(game)["score"] == len(everyday.remaining([("alive", True), ("animal", False)]))


class _ConfigRecorder(SlowBackend):
    def __init__(self) -> None:
        super().__init__()
        self.configs = []

    async def generate(self, messages, config):
        self.configs.append(config)
        return await super().generate(messages, config)


def persona_chat() -> Transcript:
    """A chat that opens with the persona's greeting, made at temperature 0.3, 7 tokens."""
    from improv.agents.types import GenerateConfig

    cfg = GenerateConfig(temperature=0.3, max_tokens=7, seed=5)
    t = Transcript(title="greeted")
    g = t.add(Turn(role="assistant", content="Ahoy! I am the captain.", system_prompt="You are a pirate.", config=cfg))
    u = t.add(Turn(parent=g.id, role="user", content="one"))
    t.add(Turn(parent=u.id, role="assistant", content="re: one", system_prompt="You are a pirate.", config=cfg))
    return t


@pytest.mark.parametrize("mode_cls", [Regenerate, Rerun])
async def test_greeting_is_recorded_context_and_recorded_settings_are_reused(mode_cls):
    from improv.agents.model import Model
    from improv.agents.types import GenerateConfig

    backend = _ConfigRecorder()
    mode = mode_cls(Agent(Model(backend), None, GenerateConfig()))
    result = await mode(ReplayItem(id="g", origin="mem", transcript=persona_chat()))
    # one call: the reply to "one"; the greeting is never regenerated ...
    assert len(backend.calls) == 1
    assert [m.role for m in backend.calls[0]] == ["system", "assistant", "user"]
    assert backend.calls[0][1].content == "Ahoy! I am the captain."
    # ... nor compared: one comparison, an exact match
    assert result.record["compared"] == 1 and result.record["exact_match"] == 1.0
    assert [t["index"] for t in result.record["turns"]] == [2]
    # the new transcript keeps the greeting as it was
    path = result.transcript.path()
    assert path[0].content == "Ahoy! I am the captain." and "replayed" not in path[0].meta
    # the recorded temperature and max_tokens are reused; the seed is not
    cfg = backend.configs[0]
    assert (cfg.temperature, cfg.max_tokens, cfg.seed) == (0.3, 7, None)
    assert path[-1].config.temperature == 0.3


async def test_explicit_settings_override_the_recorded_ones():
    from improv.agents.model import Model
    from improv.agents.types import GenerateConfig

    backend = _ConfigRecorder()
    mode = Regenerate(Agent(Model(backend), None, GenerateConfig(temperature=1.0)))
    await mode(ReplayItem(id="g", origin="mem", transcript=persona_chat()))
    assert (backend.configs[0].temperature, backend.configs[0].max_tokens) == (1.0, 7)


async def test_a_chat_that_is_only_a_greeting_has_nothing_to_replay():
    from improv.agents.model import Model
    from improv.agents.types import GenerateConfig

    t = Transcript(title="hello only")
    t.add(Turn(role="assistant", content="Hello there."))
    with pytest.raises(ValueError, match="no turn to reply to"):
        await Regenerate(Agent(Model(_ConfigRecorder()), None, GenerateConfig()))(ReplayItem(id="h", origin="mem", transcript=t))
