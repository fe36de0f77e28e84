"""Object-level task datasets: built-in ones in ``evaluator/data/introspection/tasks/`` plus any
the user adds (``--tasks PATH``: a YAML file or a directory of them).

A task file::

    name: animals
    description: ...
    properties: [first_character, starts_with_vowel]   # default for every prompt
    options: [A, B, C, D]                               # optional, informational
    prompts:                                            # strings, or {prompt, properties}
      - "Name an animal."
      - {prompt: "Pick a number.", properties: [is_even]}
    # or, instead of prompts: a template and items
    template: "What is the next animal?\\n{item}"
    items: ["cat dog", "cow pig"]
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from improv.agents.errors import ConfigError

from .properties import DATA_DIR, Property, _load_yaml, load_properties


class Item(BaseModel):
    """One object-level prompt with the properties asked about it."""

    task: str
    index: int
    prompt: str
    properties: list[str]

    @property
    def id(self) -> str:
        return f"{self.task}-{self.index}"


class Task(BaseModel):
    name: str
    description: str = ""
    properties: list[str] = Field(default_factory=list)
    options: list[str] | None = None
    items: list[Item] = Field(default_factory=list)
    source: str | None = None


def _parse_task(path: Path, known: dict[str, Property]) -> Task:
    data = _load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with name, properties and prompts")
    name = data.get("name") or path.stem
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise ConfigError(f"{path}: 'name' must be a non-empty string without '/'")
    default_props = data.get("properties") or []
    if not isinstance(default_props, list) or not all(isinstance(p, str) for p in default_props):
        raise ConfigError(f"{path}: 'properties' must be a list of property names")

    raw: list[object]
    if "prompts" in data:
        raw = data["prompts"]
        if not isinstance(raw, list):
            raise ConfigError(f"{path}: 'prompts' must be a list")
    elif "template" in data:
        template, items = data["template"], data.get("items")
        if not isinstance(template, str) or "{item}" not in template:
            raise ConfigError(f"{path}: 'template' must be a string containing {{item}}")
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{path}: a template needs a non-empty 'items' list")
        raw = [template.replace("{item}", str(i)) for i in items]
    else:
        raise ConfigError(f"{path}: a task needs 'prompts' (or 'template' and 'items')")
    if not raw:
        raise ConfigError(f"{path}: no prompts")

    items_out: list[Item] = []
    for i, entry in enumerate(raw):
        if isinstance(entry, str):
            prompt, props = entry, default_props
        elif isinstance(entry, dict) and isinstance(entry.get("prompt"), str):
            prompt, props = entry["prompt"], entry.get("properties", default_props)
        else:
            raise ConfigError(f"{path}: prompts[{i}]: expected a string or a mapping with 'prompt'")
        if not prompt.strip():
            raise ConfigError(f"{path}: prompts[{i}] is empty")
        if not isinstance(props, list) or not props:
            raise ConfigError(f"{path}: prompts[{i}]: no properties (set 'properties' on the task or the prompt)")
        for p in props:
            if p not in known:
                raise ConfigError(f"{path}: prompts[{i}]: unknown property {p!r} (known: {', '.join(known)})")
        items_out.append(Item(task=name, index=i, prompt=prompt, properties=list(props)))
    options = data.get("options")
    return Task(
        name=name,
        description=str(data.get("description") or ""),
        properties=list(default_props),
        options=[str(o) for o in options] if isinstance(options, list) else None,
        items=items_out,
        source=str(path),
    )


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise ConfigError(f"{path}: no task files (*.yaml) in this directory")
        return files
    if not path.exists():
        raise ConfigError(f"{path}: no such task file or directory")
    return [path]


def builtin_task_dir() -> Path:
    return DATA_DIR / "tasks"


def load_tasks(
    paths: list[str | Path] | None = None,
    *,
    builtin: bool = True,
    properties: dict[str, Property] | None = None,
) -> dict[str, Task]:
    """Tasks by name: the built-in ones (unless ``builtin=False``) and those in ``paths``.

    A user task with the same name as a built-in one replaces it.
    """
    known = properties if properties is not None else load_properties()
    out: dict[str, Task] = {}
    sources = ([builtin_task_dir()] if builtin else []) + [Path(p) for p in paths or []]
    for source in sources:
        for f in _files(source):
            task = _parse_task(f, known)
            out[task.name] = task
    return out


def select(
    tasks: dict[str, Task],
    names: list[str] | None = None,
    properties: list[str] | None = None,
    n: int | None = None,
) -> list[Item]:
    """Items of the named tasks (all if None), at most ``n`` per task (the first n, in file
    order, so runs are comparable), keeping only the named properties."""
    if names:
        missing = [t for t in names if t not in tasks]
        if missing:
            raise ConfigError(f"unknown task {missing[0]!r}; known tasks: {', '.join(sorted(tasks))}")
        chosen = [tasks[t] for t in names]
    else:
        chosen = list(tasks.values())
    out: list[Item] = []
    for task in chosen:
        items = task.items[:n] if n else task.items
        for item in items:
            props = [p for p in item.properties if not properties or p in properties]
            if props:
                out.append(item.model_copy(update={"properties": props}))
    if not out:
        raise ConfigError("no quiz items: the chosen tasks have none of the chosen properties")
    return out
