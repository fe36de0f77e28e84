"""Batch replay of saved conversations against other models, personas or settings.

- `load_inputs(paths)`: transcript files, folders, globs, OpenAI-style messages JSONL;
- modes: `Regenerate`, `Rerun`, `Rescore` (any per-transcript scorer handed in);
- `run_replay(items, mode, out, ...)`: the async runner (resume, failures recorded, callbacks);
- `summarize(records)`: exact-match rate, judge agreement, usage, cost;
- `provider_batch`: the OpenAI Batch API and Anthropic Message Batches path.

Names load lazily, so importing this package costs nothing until one is used.
"""

from improv.personas.lazy import lazy_exports

_EXPORTS = {
    "ReplayItem": "inputs", "load_inputs": "inputs", "messages_to_transcript": "inputs",
    "ItemResult": "modes", "Regenerate": "modes", "Rerun": "modes", "Rescore": "modes",
    "Progress": "runner", "RunResult": "runner", "run_replay": "runner", "read_results": "runner",
    "Prices": "compare", "Summary": "compare", "summarize": "compare", "exact_scorer": "compare",
    "run_provider_batch": "provider_batch",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
