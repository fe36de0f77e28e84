"""Introspection quiz (Binder et al. 2024, "Looking Inward"): hypothetical self-prediction,
checked live against the model's object-level behaviour. See `quiz.Quiz`."""

from .metrics import Cell, Metric, Prediction, PropertyResult, QuizReport, score
from .properties import Property, load_properties, load_templates
from .quiz import Quiz, QuizSettings, Split, load_split, run_quiz
from .tasks import Item, Task, load_tasks, select

__all__ = [
    "Cell", "Item", "Metric", "Prediction", "Property", "PropertyResult", "Quiz", "QuizReport",
    "QuizSettings", "Split", "Task", "load_properties", "load_split", "load_tasks", "load_templates",
    "run_quiz", "score", "select",
]
