"""Evidence records shared by the steps of the classifier (pydantic, returned as data)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from improv.evaluator.stats import wilson_interval

Label = Literal["A", "B", "not_a", "other", "refusal"]


class Share(BaseModel):
    """A proportion with its Wilson 95% interval."""

    count: int
    n: int
    share: float
    low: float
    high: float

    @classmethod
    def of(cls, count: int, n: int) -> "Share":
        lo, hi = wilson_interval(count, n)
        return cls(count=count, n=n, share=count / n if n else 0.0, low=lo, high=hi)

    def __str__(self) -> str:
        return f"{self.count}/{self.n} = {self.share:.2f} [{self.low:.2f}, {self.high:.2f}]"


class Sample(BaseModel):
    question: str
    kind: Literal["direct", "indirect", "in_context"]
    yes_no: bool = False
    text: str
    label: Label
    cluster: str = Field(description="Meaning cluster (for semantic entropy).")
    method: Literal["match", "judge"] = "match"
