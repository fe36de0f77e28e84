"""`improv ask "PROMPT"`: one turn, every sample printed; `--json` prints the transcript."""

from __future__ import annotations

import argparse
import asyncio

from improv.options import add_json_option, add_model_options, add_save_options, build_agent, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the user message")
    add_model_options(parser)
    add_json_option(parser)
    add_save_options(parser)


async def ask(agent, prompt: str):
    """Run one turn; return the transcript holding the prompt and one branch per sample."""
    from improv.agents.types import Message
    from improv.transcripts.schema import Transcript, Turn, reply_turn

    transcript = Transcript(kind="chat", title=prompt[:60])
    persona_name = transcript.add_persona(agent.persona) if agent.persona else None
    user = transcript.add(Turn(role="user", content=prompt))
    completion = await agent.respond([Message(role="user", content=prompt)])
    for choice in completion.choices:
        transcript.add(
            reply_turn(agent, user.id, choice, completion, persona=persona_name,
                       usage=completion.usage if len(completion.choices) == 1 else None),
            activate=choice is completion.choices[0],
        )
    transcript.meta["usage"] = completion.usage.model_dump()
    return transcript


def run(args: argparse.Namespace) -> int:
    from improv.agents.text import printable
    from improv.transcripts.store import save

    agent = build_agent(args)

    async def go():
        try:
            return await ask(agent, args.prompt)
        finally:
            await agent.model.aclose()

    transcript = asyncio.run(go())
    if not args.no_save:
        save(transcript, args.out)
    if args.json:
        print_json(transcript)
        return 0
    replies = [t for t in transcript.turns if t.role == "assistant"]
    for i, turn in enumerate(replies, 1):
        text = printable(turn.content)
        print(f"[{i}] {text}" if len(replies) > 1 else text)
    return 0
