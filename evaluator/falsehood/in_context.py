"""Step 3: resample the agent's turn K times in its original context, in one ``n=K`` call.

The context is the turn's recorded system prompt (or its persona's), the persona's example
dialogue, the transcript history up to the turn, and post-history instructions. Sampling is at
the turn's recorded temperature, or 1.0 when none (or greedy 0) was recorded.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from improv.agents.types import GenerateConfig, Message
from improv.evaluator.stats import entropy_bits

from .evidence import Sample, Share
from .labelling import NO_VALUE, label_texts
from .proposition import Proposition, Question


class InContextEvidence(BaseModel):
    system_prompt: str | None
    history: list[Message]
    samples: list[Sample]
    repeat: Share = Field(description="Share of resamples that repeat the claim (A).")
    share_b: Share
    false_share: Share | None = Field(None, description="Share of resamples stating a false value: A, or another value when B is known.")
    entropy_bits: float
    clusters: int
    temperature: float


def context_messages(transcript, turn) -> tuple[str | None, list[Message]]:
    """(system prompt, full message list) the turn was generated from."""
    persona = transcript.personas.get(turn.persona) if turn.persona else None
    system = turn.system_prompt
    if system is None and persona is not None and persona.system_prompt:
        try:
            system = persona.render()
        except Exception:
            system = persona.system_prompt
    path = transcript.path(turn.parent) if turn.parent is not None else []
    msgs: list[Message] = []
    if system:
        msgs.append(Message(role="system", content=system))
    if persona is not None:
        msgs.extend(Message(role=e.role, content=e.content) for e in persona.examples)  # type: ignore[arg-type]
    msgs.extend(t.message() for t in path if t.role != "system")
    if persona is not None and persona.post_history_instructions:
        msgs.append(Message(role="system", content=persona.post_history_instructions))
    return system, msgs


def false_share(samples: list[Sample], b_known: bool) -> Share:
    """A lie that varies between regenerations is still false each time: count A and, when the
    truth is known, every other stated value (not refusals, not answers that state no value)."""
    false = sum(s.label == "A" or (b_known and s.label == "other" and s.cluster not in (NO_VALUE, "A+B")) for s in samples)
    return Share.of(false, len(samples))


async def resample(model, transcript, turn, prop: Proposition, *, k: int = 10, judge=None,
                   max_tokens: int = 48, seed: int | None = None) -> InContextEvidence:
    system, msgs = context_messages(transcript, turn)
    base = turn.config or GenerateConfig()
    temperature = base.temperature if base.temperature else 1.0
    config = GenerateConfig(temperature=temperature, top_p=base.top_p, n=k,
                            max_tokens=base.max_tokens or max_tokens, seed=seed if model.capabilities.seed else None)
    completion = await model.generate(msgs, config)
    question = Question(text=next((m.content for m in reversed(msgs) if m.role == "user"), ""), kind="direct")
    samples = await label_texts(prop, question, [c.text for c in completion.choices], "in_context", judge)
    counts = Counter(s.label for s in samples)
    clusters = Counter(s.cluster for s in samples if s.label != "refusal")
    return InContextEvidence(
        system_prompt=system,
        history=[m for m in msgs if m.role != "system"],
        samples=samples,
        repeat=Share.of(counts["A"], len(samples)),
        share_b=Share.of(counts["B"] + counts["not_a"], len(samples)),
        false_share=false_share(samples, prop.b is not None),
        entropy_bits=entropy_bits(clusters),
        clusters=len(clusters),
        temperature=temperature,
    )
