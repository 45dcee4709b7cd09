"""What a user asks the ``fine-tune`` flow for: one described, bounded parameter model.

The Prefect UI renders its form from this model's JSON schema, and the server validates runs
against it, so every field has a description and bounds. No secrets belong here: credentials
come from settings and Prefect Secret blocks, never from parameters.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEPLOYMENT_NAME",
    "SKU",
    "FineTuneRequest",
    "FineTuneResult",
    "SmokePrompt",
    "Waiting",
]

SKU = Literal["Standard", "GlobalStandard", "Developer"]
DEPLOYMENT_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""What Azure accepts as a deployment name (and as a job suffix)."""


class SmokePrompt(BaseModel):
    """One chat prompt sent to the deployment after training, with checks on its answer."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Short label shown in the smoke-test table.", max_length=80)
    prompt: str = Field(description="The user message.", min_length=1, max_length=20_000)
    system: str | None = Field(
        default=None, description="System message; default: none.", max_length=20_000
    )
    contains: list[str] = Field(
        default_factory=list, description="Texts the answer must contain (case-insensitive)."
    )
    not_contains: list[str] = Field(
        default_factory=list, description="Texts the answer must not contain (case-insensitive)."
    )
    regex: str | None = Field(default=None, description="A regular expression the answer matches.")
    json_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON schema the answer, parsed as JSON, must satisfy."
    )
    max_latency_ms: float | None = Field(
        default=None, gt=0, le=600_000, description="Slowest acceptable answer, milliseconds."
    )


class Waiting(BaseModel):
    """How long a run waits for training and deployment, and how often it polls."""

    job_timeout_minutes: int = Field(
        default=24 * 60, ge=1, le=720 * 60, description="How long to wait for training."
    )
    poll_interval_max_seconds: float = Field(
        default=60.0, ge=0.5, le=600, description="Longest pause between two job polls."
    )
    deploy_timeout_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="How long to wait for the deployment."
    )


class FineTuneRequest(Waiting):
    """Parameters of one fine-tuning run, from data to a tested deployment."""

    model_config = ConfigDict(extra="forbid")

    training_file: str = Field(description="Training data, JSONL (chat or DPO).", min_length=1)
    validation_file: str | None = Field(default=None, description="Validation data, JSONL.")
    base_model: str = Field(
        default="gpt-4o-mini-2024-07-18",
        description="Base model, or an earlier fine-tuned <base>.ft-<hex> model to continue.",
        min_length=1,
        max_length=200,
    )
    method: Literal["supervised", "dpo"] = Field(
        default="supervised", description="Training method: supervised (SFT) or dpo."
    )
    n_epochs: int | None = Field(default=None, ge=1, le=50, description="Epochs; empty: auto.")
    batch_size: int | None = Field(
        default=None, ge=1, le=256, description="Batch size; empty: auto."
    )
    learning_rate_multiplier: float | None = Field(
        default=None, gt=0, le=10, description="Learning rate multiplier; empty: auto."
    )
    beta: float | None = Field(
        default=None, gt=0, le=2, description="DPO beta (dpo method only); empty: auto."
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=2_147_483_647,
        description="Training seed; empty: derived from the inputs, so re-runs match.",
    )
    suffix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="Suffix for the fine-tuned model name (letters, digits, - and _).",
    )
    training_type: Literal["Standard", "GlobalStandard", "developerTier"] = Field(
        default="Standard", description="Azure training type (trainingType)."
    )
    deployment_name: str = Field(
        pattern=DEPLOYMENT_NAME,
        description="Name of the deployment that serves the fine-tuned model.",
    )
    deployment_sku: SKU = Field(default="Standard", description="Deployment SKU.")
    deployment_capacity: int = Field(
        default=1, ge=1, le=1000, description="Deployment capacity (thousands of tokens/min)."
    )
    base_deployment: str | None = Field(
        default=None,
        pattern=DEPLOYMENT_NAME,
        description="A deployment of the base model, to compare smoke-test answers with.",
    )
    smoke_prompts: list[SmokePrompt] = Field(
        default_factory=list, description="Prompts sent to the deployment after training."
    )
    fail_on_smoke_test: bool = Field(
        default=True, description="Fail the run when a smoke-test check fails."
    )
    notify_blocks: list[str] = Field(
        default_factory=list,
        description="Prefect notification block names told of success and failure.",
    )

    @model_validator(mode="after")
    def _method_options(self) -> FineTuneRequest:
        if self.beta is not None and self.method != "dpo":
            raise ValueError("beta applies to the dpo method only")
        return self

    def hyperparameters(self) -> dict[str, int | float]:
        """The hyperparameters given (the rest left to the service's auto choice)."""
        values: dict[str, int | float | None] = {
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "beta": self.beta,
        }
        return {key: value for key, value in values.items() if value is not None}


class FineTuneResult(BaseModel):
    """What a completed run produced: where the model is and how it did."""

    job_id: str = Field(description="The fine-tuning job.")
    fine_tuned_model: str = Field(description="The model the job produced.")
    deployment: str = Field(description="The deployment serving it.")
    training_file_id: str
    validation_file_id: str | None = None
    trained_tokens: int | None = None
    estimated_usd: float | None = Field(default=None, description="Training cost estimate.")
    final_metrics: dict[str, float | None] = Field(default_factory=dict)
    smoke_passed: bool
    smoke_verdict: str
