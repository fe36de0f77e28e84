"""`improv chat`: a plain line-by-line chat on stdin/stdout.

Replies stream in as they are written (printed through `printable`, so model text cannot
drive the terminal). ``/regen`` draws a new reply to the last message as a sibling branch,
``/quit`` or end of input ends the chat; Ctrl+C during a reply cancels it (the partial reply
is kept, marked cancelled), Ctrl+C at the prompt quits. The transcript is saved after every
turn and its path printed at the end.
"""

from __future__ import annotations

import argparse
import sys

from improv.options import add_model_options, build_agent

PROMPT = "you> "
HELP = "commands: /regen (new reply to your last message), /quit (or end of input)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, samples=False)
    parser.add_argument("--out", default=None, help="transcript directory (default: $IMPROV_DATA_DIR or the user data dir)")


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    import asyncio

    from improv.agents.errors import ImprovError, ProviderError, RequestRefused
    from improv.agents.text import printable
    from improv.personas.errors import PersonaError
    from improv.cli import error_line
    from improv.transcripts.session import ChatSession

    agent = build_agent(args)
    session = ChatSession(out=args.out)
    greeting = session.start(agent.persona)
    if greeting is not None:
        write(f"{printable(greeting.content)}\n")  # saved with the first message

    async def reply(parent: str | None) -> None:
        started = []
        try:
            await session.reply(parent, agent, on_start=started.append, on_delta=lambda d: write(printable(d)))
        except asyncio.CancelledError:
            kept = bool(started) and session.is_kept(started[0])
            write(" [cancelled]\n" if kept else "[cancelled]\n")
            return
        write("\n")

    with asyncio.Runner() as runner:
        try:
            while True:
                write(PROMPT)
                try:
                    line = sys.stdin.readline()
                except KeyboardInterrupt:
                    write("\n")
                    break
                if not line:  # end of input
                    write("\n")
                    break
                text = line.rstrip("\r\n")
                command = text.strip()
                if not command:
                    continue
                if command in ("/quit", "/exit"):
                    break
                if command == "/regen":
                    try:
                        parent = session.reply_parent()
                    except ValueError:
                        parent = None
                    if parent is None:
                        print("improv: nothing to regenerate yet", file=sys.stderr)
                        continue
                elif command.startswith("/") and command.split()[0] in ("/help", "/?"):
                    print(HELP)
                    continue
                else:
                    parent = session.add_user(text).id
                    session.save()
                try:
                    runner.run(reply(parent))
                except KeyboardInterrupt:
                    # asyncio.Runner cancels the task; reply() has kept the partial text
                    pass
                except (ImprovError, ProviderError, PersonaError) as err:
                    write("\n")
                    print(f"improv: error: {error_line(err)}", file=sys.stderr)
                    if isinstance(err, (ImprovError, PersonaError)) and not isinstance(err, RequestRefused):
                        return 2  # a setting the user must fix: no use asking again
                session.save()
        finally:
            runner.run(agent.model.aclose())
            if session.saved is not None:
                print(f"transcript: {session.saved}")
    return 0
