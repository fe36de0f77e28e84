"""A persona chat (greeting first) replays on a real chat model loaded in-process: SmolLM2-135M-
Instruct from its GGUF. Before, the chat template refused the greeting-only prefix."""

from __future__ import annotations

from improv.agents.agent import Agent
from improv.agents.registry import get_model
from improv.agents.types import GenerateConfig
from improv.personas.schema import Persona
from improv.transcripts import Transcript, Turn
from improv.transcripts.replay.inputs import ReplayItem
from improv.transcripts.replay.modes import Regenerate, Rerun


def _chat() -> Transcript:
    cfg = GenerateConfig(temperature=0.0, max_tokens=12)
    t = Transcript(title="pirate")
    g = t.add(Turn(role="assistant", content="Ahoy, matey! Ask me anything.", system_prompt="You are a pirate.", config=cfg))
    u = t.add(Turn(parent=g.id, role="user", content="What is the capital of France?"))
    a = t.add(Turn(parent=u.id, role="assistant", content="Paris, arr!", system_prompt="You are a pirate.", config=cfg))
    u2 = t.add(Turn(parent=a.id, role="user", content="And of Italy?"))
    t.add(Turn(parent=u2.id, role="assistant", content="Rome!", system_prompt="You are a pirate.", config=cfg))
    return t


async def test_persona_chat_replays_on_smollm2(smollm2_gguf):
    model = get_model(f"hf/{smollm2_gguf}")
    persona = Persona(name="pirate", system_prompt="You are a pirate.", greeting="Ahoy, matey! Ask me anything.")
    for mode in (Regenerate(Agent(model, persona, GenerateConfig())), Rerun(Agent(model, None, GenerateConfig()))):
        result = await mode(ReplayItem(id="p", origin="mem", transcript=_chat()))
        record = result.record
        assert record["compared"] == 2  # the two replies; never the greeting
        assert [t["index"] for t in record["turns"]] == [2, 4]
        path = result.transcript.path()
        assert path[0].content == "Ahoy, matey! Ask me anything."
        replies = [t for t in path if t.meta.get("replayed")]
        assert len(replies) == 2 and all(r.content.strip() for r in replies)
        # greedy at the recorded settings: at most the recorded 12 tokens each
        assert all(r.config.max_tokens == 12 and r.config.temperature == 0.0 for r in replies)
