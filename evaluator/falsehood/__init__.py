"""The falsehood classifier: confabulation, good-faith falsehood, or deception in role.

Steps (one module each): `proposition` (A vs B and the questions), `belief` (neutral belief
under the ``honest`` persona, with semantic entropy), `in_context` (K resamples of the turn),
`persona_reading` (evidence only), `verdict` (the decision table), `probe` (optional white-box
truth probe), `matching` (deterministic short-answer matching), `classify` (orchestration,
batches). Entry points: `classify`, `aclassify`, `classify_batch`, `aclassify_batch`,
`load_cases`.
"""

from improv.personas.lazy import lazy_exports

_EXPORTS = {
    "classify": "classify", "aclassify": "classify", "classify_batch": "classify", "aclassify_batch": "classify",
    "load_cases": "classify", "Case": "classify", "Verdict": "classify", "BatchResult": "classify",
    "TruthProbe": "probe", "ProbeEvidence": "probe",
    "Proposition": "proposition", "TABLE": "verdict", "decide": "verdict", "DecisionInput": "verdict",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
