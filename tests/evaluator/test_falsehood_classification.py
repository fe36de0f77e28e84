"""`Classification`: the object `improv classify` and the classify screen both drive."""

import pytest

from improv.agents.errors import SettingError
from improv.evaluator.falsehood.classification import Classification, ClassifySettings, agent_replies
from improv.evaluator.falsehood.classify import Case, build_case_transcript
from improv.transcripts.schema import Turn
from improv.transcripts.store import save
from tests.evaluator.falsehood_world import world_model


async def test_a_classification_runs_once_and_keeps_its_verdict(tmp_path):
    model = world_model()
    t, _ = await build_case_transcript(Case(persona="expert", question="What is the capital of Australia?", claim="Sydney."), model)
    path = save(t, tmp_path)
    job = Classification.load(str(path), 1, truth="Canberra", settings=ClassifySettings(k=4, seed=3))
    assert job.source == path and job.reply.content == "Sydney." and job.number == 1 and job.verdict is None
    verdict = await job.run(model)
    assert verdict.verdict == "good_faith" and verdict.turn_id == job.reply.id
    assert len(verdict.in_context.samples) == 4  # the settings reached the classifier
    calls = model.backend.calls
    assert await job.run(model) is verdict and model.backend.calls == calls  # computed once


def test_replies_are_numbered_without_the_greeting():
    from improv.transcripts.schema import Transcript

    t = Transcript()
    g = t.add(Turn(role="assistant", content="Hello, traveller.", meta={"greeting": True}))
    u = t.add(Turn(parent=g.id, role="user", content="What is the capital of Peru?"))
    r = t.add(Turn(parent=u.id, role="assistant", content="Quito."))
    assert agent_replies(t) == [r]
    assert Classification(t, 1).reply is r and Classification(t, r.id).reply is r
    with pytest.raises(SettingError, match="greeting"):
        Classification(t, g.id)
    with pytest.raises(SettingError, match="1 model replies"):
        Classification(t, 2)
    with pytest.raises(SettingError, match="user turn"):
        Classification(t, u.id)
    with pytest.raises(ValueError):
        ClassifySettings(samples=5)
