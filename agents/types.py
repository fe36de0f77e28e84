"""The core value types every backend speaks: messages, generation config, completions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat message. ``content`` is model or user text: data, never markup."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class GenerateConfig(BaseModel):
    """One generation config for every backend.

    Every field defaults to ``None``, meaning "the backend's default". A field a backend
    cannot honour is refused by that backend with a `CapabilityError`, never dropped.
    """

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(None, ge=0.0, le=2.0, description="Sampling temperature; 0 is greedy. All backends.")
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling mass. All backends.")
    max_tokens: int | None = Field(None, ge=1, description="Maximum new tokens per sample. All backends.")
    seed: int | None = Field(None, description="Sampling seed. OpenAI-compatible, hf, organism, mock; refused by anthropic.")
    n: int = Field(1, ge=1, le=512, description="Number of samples. Native on OpenAI and hf (one batched call); concurrent calls on anthropic.")
    logprobs: bool = Field(False, description="Return token logprobs. OpenAI-compatible and hf only.")
    top_logprobs: int | None = Field(None, ge=0, le=20, description="Alternatives per token; requires logprobs.")
    stop: list[str] | None = Field(None, description="Stop sequences. All backends.")

    def merged(self, other: "GenerateConfig | None") -> "GenerateConfig":
        """This config with the fields that ``other`` sets explicitly laid over it."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_unset=True))


class TopLogprob(BaseModel):
    token: str
    logprob: float


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class Choice(BaseModel):
    """One sample."""

    text: str
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] | None = None


class StreamEnd(BaseModel):
    """What a backend's ``stream`` may yield after the text: why the reply ended ("stop",
    "length", ...). `agents.model.TextStream` takes it out of the deltas and keeps it."""

    finish_reason: str | None = None
    settings: dict[str, Any] | None = None


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class Completion(BaseModel):
    """The samples a backend returned for one request."""

    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
    cached: bool = False
    scripted: bool = Field(False, description="True when the text came from a mock script, not a model.")
    settings: dict[str, Any] | None = Field(
        None, description="The generation settings in force for this request, as sent to the server or used in-process."
    )

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""


class Capabilities(BaseModel):
    """What a backend can do beyond plain generation; declared, not guessed."""

    model_config = ConfigDict(frozen=True)

    logprobs: bool = False
    native_n: bool = Field(False, description="n samples come from one request/batched call.")
    seed: bool = False
    score: bool = Field(False, description="Exact log-likelihood of given continuations.")
    hidden_states: bool = False
    streaming: bool = True
    batch: bool = Field(False, description="A provider batch API (OpenAI Batch, Anthropic Message Batches).")
