"""Evaluators that read a model from outside (and, for in-process models, inside).

- `evaluator.falsehood`: classify a false statement as confabulation, good-faith falsehood or
  deception in role (Shanahan et al. 2023), with its evidence and an explicit decision table;
- `evaluator.introspection`: hypothetical self-prediction quiz (Binder et al. 2024), checked live
  against object-level behaviour;
- `evaluator.judge`: a stateless judge over any model, prompts in `evaluator/prompts/`;
- `evaluator.stats`: entropy, effective number, Wilson and bootstrap intervals (shared with games).

Evaluators never read the built-in model's manifest; only tests and benchmarks do.
"""
