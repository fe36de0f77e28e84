"""`improv chat`: a plain line-by-line chat on stdin/stdout.

Replies stream in as they are written (printed through `printable`, so model text cannot
drive the terminal). ``/regen`` draws a new reply to the last message as a sibling branch,
``/quit`` or end of input ends the chat; Ctrl+C during a reply cancels it (the partial reply
is kept, marked cancelled), Ctrl+C at the prompt quits. The transcript is saved after every
turn (unless ``--no-save``) and its path printed at the end. With ``--json`` the conversation
goes to stderr and stdout gets the transcript as JSON at the end, for a script to read.

The conversation is the library's `ChatSession` (the TUI's chat screen drives the same object).
"""

from __future__ import annotations

import argparse
import sys

from improv.options import add_json_option, add_model_options, add_save_options, build_agent, print_json

PROMPT = "you> "
HELP = "commands: /regen (new reply to your last message), /quit (or end of input)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser, samples=False)
    add_save_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from improv.agents.errors import ImprovError, ProviderError, RequestRefused
    from improv.agents.text import printable
    from improv.personas.errors import PersonaError
    from improv.cli import error_line
    from improv.transcripts.session import ChatSession

    conversation = sys.stderr if args.json else sys.stdout  # with --json, stdout holds the JSON only

    def write(text: str) -> None:
        conversation.write(text)
        conversation.flush()

    agent = build_agent(args)
    session = ChatSession(out=args.out)

    def save() -> None:
        if not args.no_save:
            session.save()

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
                    write(HELP + "\n")
                    continue
                else:
                    parent = session.add_user(text).id
                    save()
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
                save()
        finally:
            runner.run(agent.model.aclose())
            if session.saved is not None:
                write(f"transcript: {session.saved}\n")
    if args.json:
        print_json(session.transcript)
    return 0
