"""Peak memory and time of improv on hostile inputs (issue 21), each in its own process.

    python benchmarks/bench_hostile.py [--quick] [--only TEXT]

Every case runs ``python -m improv ...`` in a fresh process and reads that process's peak
resident memory (``wait4``'s ru_maxrss) and wall time. The target: each hostile file refused
in one line, exit 2, within 2 s and 200 MB; the dead endpoint case (300 conversations) in
under 15 s. The first row (``improv --version``) is the interpreter's own baseline.

A big transcript is not hostile but must stay bounded: ``transcripts show`` cuts a message past
``transcripts.display.SHOW_CHARS`` and says so, ``export`` writes it all. The last rows are
legitimate files at the edges of the budget that still cost more than 200 MB (a 120 MB message;
50 MB of ASCII with one emoji, which Python holds as 4 bytes a character): what is left to decide.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def alias_bomb(field: str, levels: int = 9) -> str:
    lines = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, levels)]
    return f"name: bomb\nsystem_prompt: hi\n{field}:\n" + "\n".join("  " + x for x in lines) + "\n"


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png(*chunks: bytes) -> bytes:
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(chunks) + png_chunk(b"IEND", b"")


def transcript(content: str) -> dict:
    from improv.transcripts.schema import Transcript, Turn

    t = Transcript(kind="chat", title="big")
    u = Turn(role="user", content="q")
    a = Turn(parent=u.id, role="assistant", content=content)
    t.turns, t.active = [u, a], a.id
    return json.loads(t.model_dump_json())


# The child reports its own VmHWM: ru_maxrss would include this parent's peak (Linux carries
# it over fork and exec), VmHWM belongs to the process image that exec made.
CHILD = """
import sys
from improv.cli import main
code = main(sys.argv[1:])
hwm = next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM'))
sys.stderr.write(f'\\n__HWM__ {hwm}\\n')
sys.exit(code)
"""


def deflate_bomb(size: int) -> bytes:
    """zlib data inflating to ``size`` bytes of 'A', made in chunks (this process stays small)."""
    c = zlib.compressobj(9)
    block = b"A" * (1024 * 1024)
    parts = [c.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + c.flush()


def run(argv: list[str], env: dict[str, str]) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak MB, first stderr line) of improv's CLI on ``argv``."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - started
    lines = proc.stderr.decode("utf-8", "replace").splitlines()
    hwm = next((line.split()[1] for line in lines if line.startswith("__HWM__")), "0")
    first = next((line for line in lines if line.strip() and not line.startswith("__HWM__")), "")
    return proc.returncode, elapsed, int(hwm) / 1024, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 50 MB and larger transcripts")
    parser.add_argument("--only", default=None, metavar="TEXT",
                        help="run only the cases whose name holds TEXT (and the baselines)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fakes.ports import dead_url

    tmp = Path(tempfile.mkdtemp(prefix="improv-hostile-"))
    env = {**os.environ, "IMPROV_DATA_DIR": str(tmp / "data"), "IMPROV_TORCH_THREADS": "1",
           "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    store = tmp / "data" / "transcripts"
    store.mkdir(parents=True)

    cases: list[tuple[str, list[str], dict[str, str]]] = [("baseline: improv --version", ["--version"], {}),
                                                          ("baseline: personas list", ["personas", "list"], {})]
    for field in ("extensions", "generation"):
        p = tmp / f"bomb-{field}.yaml"
        p.write_text(alias_bomb(field))
        cases.append((f"YAML alias bomb under {field}: ({p.stat().st_size} B) personas import", ["personas", "import", str(p)], {}))
        cases.append((f"YAML alias bomb under {field}: personas show", ["personas", "show", str(p)], {}))
    p = tmp / "bomb-generation.yaml"
    cases.append(("YAML alias bomb under generation: ask -p", ["ask", "-m", "mock/echo", "-p", str(p), "hi"], {}))
    big = tmp / "big.yaml"
    big.write_text("name: big\nsystem_prompt: |\n" + "  x\n" * (25 * 1024 * 1024))
    cases.append(("50 MB persona: personas import", ["personas", "import", str(big)], {}))
    cases.append(("50 MB persona: personas show", ["personas", "show", str(big)], {}))
    z = tmp / "ztxt-bomb.png"
    z.write_bytes(png(png_chunk(b"zTXt", b"chara\x00\x00" + deflate_bomb(256 * 1024 * 1024))))
    cases.append((f"PNG zTXt -> 256 MiB ({z.stat().st_size // 1024} KB): personas import", ["personas", "import", str(z)], {}))
    z2 = tmp / "ztxt-1mb.png"
    z2.write_bytes(png(png_chunk(b"zTXt", b"chara\x00\x00" + deflate_bomb(1000 * 1024 * 1024))))
    cases.append((f"PNG zTXt ~1 GB ({z2.stat().st_size // 1024} KB): personas import", ["personas", "import", str(z2)], {}))
    card = tmp / "ok.png"
    text = base64.b64encode(json.dumps({"spec": "chara_card_v2", "data": {"name": "ok\x1b[2J"}}).encode())
    card.write_bytes(png(png_chunk(b"tEXt", b"chara\x00" + text)))
    cases.append(("PNG card with an escape in its name: personas show", ["personas", "show", str(card)], {}))

    sizes = [1, 4] + ([] if args.quick else [50])
    for mb in sizes:
        t = transcript("word " * (mb * 1024 * 1024 // 5))
        (store / f"{t['id']}.json").write_text(json.dumps(t))
        cases.append((f"transcripts show, one {mb} MB message", ["transcripts", "show", t["id"]], {}))
    edge_cases: list[tuple[str, list[str], dict[str, str]]] = []
    if not args.quick:
        big_id = t["id"]
        for name, extra_args in [("show --json", ["show", big_id, "--json"]), ("export --format md", ["export", big_id]),
                                 ("export --format jsonl", ["export", big_id, "--format", "jsonl"])]:
            cases.append((f"transcripts {name}, one 50 MB message", ["transcripts", *extra_args], {}))
        edge = tmp / "edge"  # a folder of its own: the list case below reads the store
        edge.mkdir()
        for name, content in [("120 MB message", "word " * (120 * 1024 * 1024 // 5)),
                              ("50 MB message + one emoji", "word " * (50 * 1024 * 1024 // 5) + "\U0001f600")]:
            t = transcript(content)
            del content
            (edge / f"{t['id']}.json").write_text(json.dumps(t))
            edge_cases.append((f"edge: transcripts show, {name}", ["transcripts", "show", t["id"], "--dir", str(edge)], {}))
            del t
    hostile = transcript("hi \x1b]0;pwned\x07\x1b[2J\x1b[?1049h\x08\r bye")
    (store / f"{hostile['id']}.json").write_text(json.dumps(hostile))
    cases.append(("transcripts export --format md, control sequences", ["transcripts", "export", hostile["id"]], {}))
    (store / "stray.json").write_text('{"model": "x"}')
    cases.append((f"transcripts list: stray file, {'/'.join(map(str, sizes))} MB messages", ["transcripts", "list"], {}))
    bad = tmp / "bad-utf8.jsonl"
    bad.write_bytes(b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n')
    cases.append(("replay JSONL with non-UTF-8 bytes", ["replay", str(bad), "-m", "mock/echo", "--out", str(tmp / "r1")], {}))
    deep = tmp / "deep.jsonl"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    cases.append(("replay JSONL nested 100,000 deep", ["replay", str(deep), "-m", "mock/echo", "--out", str(tmp / "r2")], {}))
    many = tmp / "many.jsonl"
    many.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}]}) + "\n" for i in range(300)))
    cases.append(("replay 300 conversations, refused port", ["replay", str(many), "-m", "vllm/x", "--out", str(tmp / "r3")],
                  {"VLLM_BASE_URL": dead_url()}))
    cases.append(("OPENAI_BASE_URL='not a url'", ["ask", "-m", "openai/x", "hi"],
                  {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "not a url"}))
    cases.append(("OPENAI_BASE_URL port 99999", ["ask", "-m", "openai/x", "hi"],
                  {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:99999/v1"}))

    cases += edge_cases
    if args.only:
        cases = [c for c in cases if c[0].startswith("baseline") or args.only in c[0]]
    print(f"{'case':<62} {'exit':>4} {'sec':>7} {'peak MB':>8}  first stderr line")
    try:
        for name, argv, extra in cases:
            code, sec, mb, first = run(argv, {**env, **extra})
            print(f"{name[:62]:<62} {code:>4} {sec:>7.2f} {mb:>8.0f}  {first[:90]}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a few hundred MB of files


if __name__ == "__main__":
    main()
