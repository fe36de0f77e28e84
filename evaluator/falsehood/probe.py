"""Step 6 (optional): a white-box truth probe on hidden states, for in-process models.

For backends that expose hidden states (``Capabilities.hidden_states``: ``hf/...`` and the
built-in model ``organism``), a logistic-regression probe (numpy only) reads whether the model
represents a statement as true:

- **Data.** Labelled true/false world statements ship in ``evaluator/data/truth_statements.jsonl``
  (capitals and chemical symbols; each subject once true, once with another subject's value).
  Nothing model-specific: the probe is trained on the model under study, on facts of the world.
- **Features.** Hidden states at one token, one row per layer (embeddings are row 0), read in
  the neutral ``honest`` persona's context (the one the belief elicitation uses), two ways:
  ``statement``: the statement as the persona's reply to its direct question, at the statement's
  last token; ``question``: the user asks "Is it true that <statement>?", at the last prompt
  token (where the model is about to answer). Both readings are candidates.
- **Split.** Subjects (not statements) are split 60/20/20 into train / validation / test, so a
  subject's true and false statements never straddle two splits.
- **Fit.** Per reading and layer, features are standardised on the training split and an
  L2-regularised logistic regression is fitted by Newton's method (IRLS). The reading, layer and
  regularisation strength are chosen by *validation* accuracy (ties: lower validation log-loss,
  then the stronger penalty); the reported ``accuracy`` is on the untouched *test* split, with
  its Wilson interval.
- **Reading the claim.** The agent's claim (the proposition's sentence, with the proposition's
  direct question) is read the chosen way and gives ``p_true``.

The verdict table (``verdict.py``) uses the probe only when its held-out accuracy is at least
``PROBE_MIN_ACCURACY``, and only to *lower* a verdict's confidence, never to raise it or change
the verdict. A trained probe is cached per model (and data/settings) for the life of the process,
so a batch trains it once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from improv.agents.errors import CapabilityError, ConfigError
from improv.agents.types import Message
from improv.evaluator.stats import wilson_interval

from .verdict import PROBE_MIN_ACCURACY

DATA_PATH = Path(__file__).resolve().parents[1] / "data" / "truth_statements.jsonl"
L2_GRID = (0.1, 1.0, 10.0, 100.0)
SPLIT = (0.6, 0.2, 0.2)
READINGS = ("statement", "question")


class Statement(BaseModel):
    topic: str
    subject: str
    question: str
    statement: str
    label: bool


class ProbeEvidence(BaseModel):
    """What the probe read, and how far it can be trusted."""

    statement: str = Field(description="The sentence the probe read (the agent's claim).")
    question: str = Field(description="The neutral question the sentence was read as an answer to.")
    p_true: float
    reading: str = Field("statement", description="How the claim was read: 'statement' (as a reply) or 'question' (Is it true that ...?).")
    layer: int
    accuracy: float = Field(description="Held-out (test split) accuracy of the probe.")
    accuracy_low: float
    accuracy_high: float
    val_accuracy: float = Field(description="Validation accuracy at the chosen layer (used to choose it).")
    layer_accuracy: dict[str, float] = Field(default_factory=dict, description="Best validation accuracy per 'reading@layer'.")
    l2: float
    train_size: int
    val_size: int = 0
    test_size: int
    used: bool = Field(description=f"Whether the verdict may use it (held-out accuracy >= {PROBE_MIN_ACCURACY}).")


def load_statements(path: str | Path | None = None) -> list[Statement]:
    """The labelled statements (JSONL, one ``Statement`` per line); clear errors name the line."""
    path = Path(path) if path is not None else DATA_PATH
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror or err}") from None
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Statement.model_validate(json.loads(line)))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}, line {i}: not JSON ({err.msg})") from None
        except ValidationError as err:
            e = err.errors()[0]
            raise ConfigError(f"{path}, line {i}: {'.'.join(map(str, e['loc']))}: {e['msg']}") from None
    if len({s.label for s in out}) < 2:
        raise ConfigError(f"{path}: the probe needs both true and false statements")
    return out


# -- numpy logistic regression -------------------------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50, tol: float = 1e-8) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method; returns (weights, bias).

    The penalty ``l2 * |w|^2 / 2`` applies to the weights, not the bias. ``x`` is [n, d]."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    xa = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 1e-8
    for _ in range(iters):
        p = _sigmoid(xa @ theta)
        grad = xa.T @ (p - y) + reg * theta
        h = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(reg)
        step = np.linalg.solve(h, grad)
        theta -= step
        if float(np.max(np.abs(step))) < tol:
            break
    return theta[:-1], float(theta[-1])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def split_subjects(statements: list[Statement], seed: int = 0, fractions=SPLIT) -> tuple[list[int], list[int], list[int]]:
    """Indices of train / validation / test statements, split by subject (grouped)."""
    subjects = sorted({(s.topic, s.subject) for s in statements})
    random.Random(seed).shuffle(subjects)
    n = len(subjects)
    n_test = max(1, round(fractions[2] * n))
    n_val = max(1, round(fractions[1] * n))
    test = set(subjects[:n_test])
    val = set(subjects[n_test:n_test + n_val])
    tr, va, te = [], [], []
    for i, s in enumerate(statements):
        key = (s.topic, s.subject)
        (te if key in test else va if key in val else tr).append(i)
    return tr, va, te


@dataclass
class FittedProbe:
    """A probe trained on one model: the chosen layer, its standardisation and weights."""

    model: str
    reading: str
    layer: int
    l2: float
    mean: np.ndarray
    std: np.ndarray
    w: np.ndarray
    b: float
    val_accuracy: float
    accuracy: float
    test_size: int
    train_size: int
    val_size: int
    layer_accuracy: dict[str, float] = field(default_factory=dict)

    def p_true(self, states: np.ndarray) -> float:
        """Probability of "true" from a [n_layers + 1, hidden] hidden-state array."""
        v = (np.asarray(states, dtype=np.float64)[self.layer] - self.mean) / self.std
        return float(_sigmoid(np.array([v @ self.w + self.b]))[0])

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        return wilson_interval(round(self.accuracy * self.test_size), self.test_size)


def select_and_fit(features, labels: np.ndarray, split: tuple[list[int], list[int], list[int]],
                   model: str = "", l2_grid=L2_GRID) -> FittedProbe:
    """Choose (reading, layer, l2) by validation accuracy, then report test accuracy.
    ``features`` is [n_statements, n_layers + 1, hidden], or a dict reading -> such an array;
    ``labels`` 0/1."""
    if not isinstance(features, dict):
        features = {"statement": features}
    tr, va, te = (np.asarray(ix, dtype=int) for ix in split)
    y = labels.astype(np.float64)
    best = None
    per_layer: dict[str, float] = {}
    for reading, layer in ((r, i) for r, f in features.items() for i in range(f.shape[1])):
        x = features[reading][:, layer, :].astype(np.float64)
        mean = x[tr].mean(axis=0)
        std = x[tr].std(axis=0)
        std = np.where(std < 1e-6, 1.0, std)
        z = (x - mean) / std
        for l2 in l2_grid:
            w, b = fit_logistic(z[tr], y[tr], l2)
            p = _sigmoid(z[va] @ w + b)
            acc = float(np.mean((p >= 0.5) == (y[va] == 1)))
            loss = float(-np.mean(y[va] * np.log(p + 1e-12) + (1 - y[va]) * np.log(1 - p + 1e-12)))
            name = f"{reading}@{layer}"
            per_layer[name] = max(per_layer.get(name, 0.0), acc)
            key = (acc, -loss, l2)
            if best is None or key > best[0]:
                best = (key, reading, layer, l2, mean, std, w, b)
    assert best is not None
    (val_acc, _, _), reading, layer, l2, mean, std, w, b = best
    z_te = (features[reading][te, layer, :].astype(np.float64) - mean) / std
    test_acc = float(np.mean((_sigmoid(z_te @ w + b) >= 0.5) == (y[te] == 1)))
    return FittedProbe(model=model, reading=reading, layer=layer, l2=l2, mean=mean, std=std, w=w, b=b, val_accuracy=val_acc,
                       accuracy=test_acc, test_size=len(te), train_size=len(tr), val_size=len(va), layer_accuracy=per_layer)


# -- the probe a classification uses ---------------------------------------------------------------

_FITTED: dict[tuple, FittedProbe] = {}
_PENDING: dict[tuple, asyncio.Future] = {}


def clear_cache() -> None:
    _FITTED.clear()
    _PENDING.clear()


class TruthProbe:
    """The truth probe: ``await probe.evaluate(model, proposition)`` -> ``ProbeEvidence``.

    ``statements`` overrides the shipped data (a list of ``Statement`` or a JSONL path).
    Training happens on first use per model and is cached for the process."""

    def __init__(self, statements: list[Statement] | str | Path | None = None, *, seed: int = 0, l2_grid=L2_GRID,
                 readings=READINGS) -> None:
        bad = [r for r in readings if r not in READINGS]
        if bad or not readings:
            raise ConfigError(f"truth probe: unknown reading {bad[0] if bad else '(none)'}; use {', '.join(READINGS)}")
        self.readings = tuple(readings)
        if statements is None or isinstance(statements, (str, Path)):
            statements = load_statements(statements)
        self.statements = list(statements)
        self.seed = seed
        self.l2_grid = tuple(l2_grid)
        digest = hashlib.sha256(json.dumps([s.model_dump() for s in self.statements]).encode()).hexdigest()[:16]
        self._key_suffix = (digest, seed, self.l2_grid, self.readings)

    @staticmethod
    def check(model) -> None:
        if not model.capabilities.hidden_states:
            raise CapabilityError(
                f"{model.name}: the truth probe needs hidden states (an in-process model: hf/PATH or organism)"
            )

    @staticmethod
    def messages(question: str) -> list[Message]:
        """The neutral context a statement is read in: the honest persona, then the question."""
        from improv.personas import get_persona

        system = get_persona("honest").render()
        return [Message(role="system", content=system), Message(role="user", content=question)]

    @staticmethod
    def truth_question(statement: str) -> str:
        s = statement.strip().rstrip(".!?").strip()
        if s[:1].isupper() and s[1:2].islower():
            s = s[0].lower() + s[1:]
        return f"Is it true that {s}?"

    async def states(self, model, question: str, statement: str, reading: str = "statement") -> np.ndarray:
        if reading == "question":
            out = await model.hidden_states(self.messages(self.truth_question(statement)), None)
        else:
            out = await model.hidden_states(self.messages(question), statement)
        return np.asarray(out, dtype=np.float64)

    async def fit(self, model) -> FittedProbe:
        """The probe for ``model`` (trained once per process; concurrent callers share one fit)."""
        self.check(model)
        key = (model.name, *self._key_suffix)
        if key in _FITTED:
            return _FITTED[key]
        loop = asyncio.get_running_loop()
        pending_key = (id(loop), key)
        task = _PENDING.get(pending_key)
        if task is None or task.get_loop() is not loop:
            task = _PENDING[pending_key] = asyncio.ensure_future(self._train(model))
        try:
            fitted = await asyncio.shield(task)
        finally:
            if task.done():
                _PENDING.pop(pending_key, None)
        _FITTED[key] = fitted
        return fitted

    async def _train(self, model) -> FittedProbe:
        features = {r: np.stack([await self.states(model, s.question, s.statement, r) for s in self.statements])
                    for r in self.readings}
        labels = np.array([1 if s.label else 0 for s in self.statements])
        split = split_subjects(self.statements, self.seed)
        if not all(len(ix) and len({int(labels[i]) for i in ix}) == 2 for ix in split):
            raise ConfigError("truth probe: each split needs true and false statements; give more statements")
        return await asyncio.to_thread(select_and_fit, features, labels, split, model.name, self.l2_grid)

    async def evaluate(self, model, prop) -> ProbeEvidence:
        """Read the proposition's claim (a ``Proposition``, or a plain sentence)."""
        fitted = await self.fit(model)
        if isinstance(prop, str):
            statement, question = prop, "Tell me something true."
        else:
            statement = prop.claim
            question = next((q.text for q in prop.questions if q.kind == "direct"), prop.questions[0].text if prop.questions else "")
        p = fitted.p_true(await self.states(model, question, statement, fitted.reading))
        lo, hi = fitted.accuracy_interval
        return ProbeEvidence(
            statement=statement, question=question, p_true=p, reading=fitted.reading, layer=fitted.layer, accuracy=fitted.accuracy,
            accuracy_low=lo, accuracy_high=hi, val_accuracy=fitted.val_accuracy, layer_accuracy=fitted.layer_accuracy,
            l2=fitted.l2, train_size=fitted.train_size, val_size=fitted.val_size, test_size=fitted.test_size,
            used=fitted.accuracy >= PROBE_MIN_ACCURACY and not math.isnan(p),
        )


def as_probe(probe) -> TruthProbe | None:
    """``probe=`` as the library takes it: None/False (off), True (the shipped data), a
    ``TruthProbe``, or a path to a statements JSONL file."""
    if probe is None or probe is False:
        return None
    if probe is True:
        return TruthProbe()
    if isinstance(probe, TruthProbe):
        return probe
    if isinstance(probe, (str, Path)):
        return TruthProbe(probe)
    if hasattr(probe, "evaluate"):
        return probe
    raise ConfigError(f"probe: expected True, a TruthProbe or a statements file, not {type(probe).__name__}")


__all__ = ["TruthProbe", "ProbeEvidence", "Statement", "FittedProbe", "load_statements", "fit_logistic",
           "split_subjects", "select_and_fit", "as_probe", "clear_cache", "DATA_PATH"]
