"""`improv transcripts list|show|export`."""

from __future__ import annotations

import argparse

from improv.options import add_json_option, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("list", help="saved transcripts, newest first")
    p.add_argument("--dir", default=None, metavar="DIR", help="folder to read transcripts from (default: $IMPROV_DATA_DIR/transcripts, else the user data dir's transcripts folder)")
    p.add_argument("--kind", default=None, help="only this kind (chat, twentyq, ...)")
    add_json_option(p)
    p = sub.add_parser("show", help="one transcript's active branch")
    p.add_argument("transcript", help="path or id")
    p.add_argument("--dir", default=None, metavar="DIR", help="folder to read transcripts from (default: $IMPROV_DATA_DIR/transcripts, else the user data dir's transcripts folder)")
    add_json_option(p)
    p = sub.add_parser("export", help="export as Markdown or OpenAI-style messages JSONL")
    p.add_argument("transcript", nargs="+", help="paths or ids")
    p.add_argument("--dir", default=None, metavar="DIR", help="folder to read transcripts from (default: $IMPROV_DATA_DIR/transcripts, else the user data dir's transcripts folder)")
    p.add_argument("--format", choices=["md", "jsonl"], default="md",
                   help="md: the active branch as Markdown (default); jsonl: OpenAI-style messages, one line per branch")
    p.add_argument("--all-branches", action="store_true", help="jsonl: one line per branch, not only the active one")
    p.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON object: format, transcript ids, the file written (-o) or the exported text")


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from improv.agents.text import one_line, plural
    from improv.transcripts.display import cut_notice, excerpt, short_line
    from improv.transcripts.errors import TranscriptError
    from improv.transcripts.store import list_transcripts, load, resolve

    console = Console()
    if args.action == "list":
        rows = []
        skipped: list[str] = []
        for path in list_transcripts(args.dir):
            try:
                t = load(path)
            except TranscriptError as err:  # a stray file must not hide every other transcript
                skipped.append(str(err))
                continue
            if args.kind and t.kind != args.kind:
                continue
            rows.append({"id": t.id, "kind": t.kind, "title": t.title, "turns": len(t.turns),
                         "updated": t.updated.isoformat(timespec="seconds"), "path": str(path)})
        if skipped:
            more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
            Console(stderr=True).print(Text(f"improv: skipped a file that is not a transcript: {one_line(skipped[0])}{more}"),
                                       soft_wrap=True)
        if args.json:
            print_json(rows)
            return 0
        table = Table("id", "kind", "title", "turns", "updated")
        for r in rows:  # cut: a cell of megabytes would cost Rich far more than it shows
            table.add_row(Text(short_line(r["id"])), Text(short_line(r["kind"])), Text(short_line(r["title"])),
                          str(r["turns"]), r["updated"])
        console.print(table)
        return 0
    if args.action == "show":
        t = load(resolve(args.transcript, args.dir))
        if args.json:
            print_json(t)
            return 0
        console.print(Text(f"{short_line(t.title or t.id)} ({short_line(t.kind)}, {plural(len(t.turns), 'turn')})",
                           style="bold"))
        whole = " ".join(["improv transcripts export", shlex.quote(args.transcript),
                          *(["--dir", shlex.quote(args.dir)] if args.dir else [])])
        for turn in t.path():
            n = len(t.siblings(turn.id))
            tag = f" [{[s.id for s in t.siblings(turn.id)].index(turn.id) + 1}/{n}]" if n > 1 else ""
            shown = excerpt(turn.content)  # a message of megabytes is cut, and the cut is said
            # soft_wrap: the terminal wraps; Rich's own wrapping is quadratic in a long message
            console.print(Text(f"{turn.role}{tag}:", style="bold"), Text(shown.text), soft_wrap=True)
            if shown.hidden:
                console.print(Text(cut_notice(shown.hidden, f"`{whole}`"), style="dim"), soft_wrap=True)
        return 0
    from improv.transcripts.export import to_jsonl, to_markdown

    parts = []
    ids = []
    for ref in args.transcript:
        t = load(resolve(ref, args.dir))
        ids.append(t.id)
        parts.append(to_markdown(t) if args.format == "md" else to_jsonl(t, all_branches=args.all_branches))
    text = ("\n" if args.format == "md" else "").join(parts)
    if args.output:
        from improv.options import write_output

        write_output(args.output, text, "-o")
    if args.json:
        print_json({"format": args.format, "transcripts": ids, "output": args.output,
                    "text": None if args.output else text})
    elif not args.output:
        # in slices: one write of a 50 MB export would make a second, encoded copy of all of it
        for start in range(0, len(text), 1 << 20):
            sys.stdout.write(text[start:start + (1 << 20)])
    return 0
