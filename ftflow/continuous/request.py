"""What a user asks the ``continuous-fine-tune`` flow for: one described, bounded model.

Like `ftflow.request.FineTuneRequest`, every field has a description and bounds, so the
Prefect UI renders a form and the server validates scheduled runs. No secrets: credentials for
Azure come from settings, and for the data location from its own environment (for Azure Blob
through ``adlfs``: ``AZURE_STORAGE_ACCOUNT_NAME`` and ``AZURE_STORAGE_<CREDENTIAL>``, or
``DefaultAzureCredential``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ftflow.evaluation import METRICS, Kind, Metric
from ftflow.request import DEPLOYMENT_NAME, SKU, FineTuneRequest, Waiting

__all__ = [
    "DEFAULT_VARIABLE",
    "VARIABLE_NAME",
    "ContinuousRequest",
    "ContinuousResult",
    "Outcome",
    "RollbackRequest",
    "RollbackResult",
]

DEFAULT_VARIABLE = "continuous-fine-tune"
"""The Prefect Variable holding the state when a run names none."""

VARIABLE_NAME = r"^[a-z0-9_-]{1,255}$"
"""What Prefect accepts as a Variable name."""

Outcome = Literal["nothing_new", "promoted", "rejected"]


class ContinuousRequest(Waiting):
    """One continuous fine-tuning run: where the data is, how to judge, where to serve."""

    model_config = ConfigDict(extra="forbid")

    data_location: str = Field(
        description="Directory of JSONL training files: a local path or an fsspec URL "
        "(abfs://container/folder for Azure Blob through adlfs).",
        min_length=1,
        max_length=2000,
    )
    pattern: str = Field(
        default="*.jsonl",
        description="File names to train on, a glob matched in every subdirectory; names "
        "starting with a dot are skipped (files still being written).",
        min_length=1,
        max_length=200,
    )
    eval_file: str = Field(
        description="Held-out evaluation set: chat JSONL whose last assistant message is the "
        "reference answer (local path or fsspec URL). Never trained on.",
        min_length=1,
        max_length=2000,
    )
    eval_kind: Kind = Field(
        default="free_text",
        description="free_text (exact match, contains, token F1) or labels (accuracy, "
        "macro precision, recall, F1).",
    )
    metric: Metric = Field(
        default="token_f1", description="The metric that decides; must belong to eval_kind."
    )
    margin: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="How much better on the metric the candidate must be to be promoted.",
    )
    min_score: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Score the first model must reach when nothing is served to compare with.",
    )
    training_mode: Literal["new_only", "all"] = Field(
        default="new_only",
        description="Train on the files not trained on yet, or on every file found.",
    )
    start_from: Literal["promoted", "base"] = Field(
        default="promoted",
        description="Continue training the promoted model (continuous fine-tuning), or start "
        "from base_model every time (pair with training_mode=all).",
    )
    base_model: str = Field(
        default="gpt-4o-mini-2024-07-18",
        description="The base model, trained on the first time (and always with start_from=base).",
        min_length=1,
        max_length=200,
    )
    deployment_name: str = Field(
        pattern=DEPLOYMENT_NAME,
        description="The stable deployment: serves the promoted model, keeps its name.",
    )
    candidate_deployment: str | None = Field(
        default=None,
        pattern=DEPLOYMENT_NAME,
        description="Where each candidate is deployed for evaluation, then deleted; "
        "default: <deployment_name>-candidate.",
    )
    base_deployment: str | None = Field(
        default=None,
        pattern=DEPLOYMENT_NAME,
        description="A deployment of the base model: the baseline of the first promotion.",
    )
    deployment_sku: SKU = Field(default="Standard", description="Deployment SKU.")
    deployment_capacity: int = Field(
        default=1, ge=1, le=1000, description="Deployment capacity (thousands of tokens/min)."
    )
    variable: str = Field(
        default=DEFAULT_VARIABLE,
        pattern=VARIABLE_NAME,
        description="Prefect Variable holding the state (lower case, digits, - and _).",
    )
    validation_file: str | None = Field(
        default=None, description="Validation data (local JSONL) sent with every job."
    )
    n_epochs: int | None = Field(default=None, ge=1, le=50, description="Epochs; empty: auto.")
    batch_size: int | None = Field(
        default=None, ge=1, le=256, description="Batch size; empty: auto."
    )
    learning_rate_multiplier: float | None = Field(
        default=None, gt=0, le=10, description="Learning rate multiplier; empty: auto."
    )
    seed: int | None = Field(
        default=None, ge=0, le=2_147_483_647, description="Training seed; empty: derived."
    )
    suffix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="Suffix for the fine-tuned model names.",
    )
    training_type: Literal["Standard", "GlobalStandard", "developerTier"] = Field(
        default="Standard", description="Azure training type (trainingType)."
    )
    eval_temperature: float | None = Field(
        default=0.0,
        ge=0,
        le=2,
        description="Temperature of the evaluation questions; empty: not sent (o-series).",
    )
    answer_timeout_seconds: float = Field(
        default=60.0, gt=0, le=600, description="Longest wait for one evaluation answer."
    )
    lineage_kept: int = Field(
        default=5,
        ge=0,
        le=20,
        description="Lineage entries kept in the Variable (about 500 characters each; fewer "
        "if they would not fit); the lineage artifact's history keeps them all.",
    )
    notify_blocks: list[str] = Field(
        default_factory=list,
        description="Prefect notification block names told of promotions, rejections and failures.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ContinuousRequest:
        if self.metric not in METRICS[self.eval_kind]:
            allowed = ", ".join(METRICS[self.eval_kind])
            raise ValueError(
                f"metric {self.metric!r} does not score {self.eval_kind}; use one of {allowed}"
            )
        if self.candidate == self.deployment_name:
            raise ValueError("the candidate deployment must differ from the stable deployment")
        if self.base_deployment in (self.deployment_name, self.candidate):
            raise ValueError("the base deployment must differ from the stable and candidate ones")
        return self

    @property
    def candidate(self) -> str:
        """The candidate deployment's name."""
        if self.candidate_deployment:
            return self.candidate_deployment
        return f"{self.deployment_name[:54]}-candidate"

    def fine_tune_request(self, training_file: str, model: str) -> FineTuneRequest:
        """The candidate's training: ``model`` on ``training_file``, deployed as the candidate."""
        return FineTuneRequest(
            training_file=training_file,
            validation_file=self.validation_file,
            base_model=model,
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            learning_rate_multiplier=self.learning_rate_multiplier,
            seed=self.seed,
            suffix=self.suffix,
            training_type=self.training_type,
            deployment_name=self.candidate,
            deployment_sku=self.deployment_sku,
            deployment_capacity=self.deployment_capacity,
            job_timeout_minutes=self.job_timeout_minutes,
            poll_interval_max_seconds=self.poll_interval_max_seconds,
            deploy_timeout_minutes=self.deploy_timeout_minutes,
            notify_blocks=self.notify_blocks,
        )


class ContinuousResult(BaseModel):
    """How a run ended: nothing new, a promotion or a rejection, and what is served now."""

    outcome: Outcome = Field(description="nothing_new, promoted or rejected.")
    message: str = Field(description="One line saying what happened and why.")
    deployment: str = Field(description="The stable deployment.")
    promoted_model: str | None = Field(description="The model the stable deployment serves.")
    candidate_model: str | None = None
    job_id: str | None = None
    data_version: str | None = Field(default=None, description="Training set sha256[:16].")
    new_files: list[str] = Field(default_factory=list, description="Files trained on first.")
    metric: str | None = None
    candidate_score: float | None = None
    baseline_score: float | None = None


class RollbackRequest(BaseModel):
    """Parameters of a rollback: which state, how long to wait, whom to tell."""

    model_config = ConfigDict(extra="forbid")

    variable: str = Field(
        default=DEFAULT_VARIABLE,
        pattern=VARIABLE_NAME,
        description="Prefect Variable holding the continuous pipeline's state.",
    )
    deploy_timeout_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="How long to wait for the deployment."
    )
    notify_blocks: list[str] = Field(
        default_factory=list, description="Prefect notification block names told of it."
    )


class RollbackResult(BaseModel):
    """What a rollback did: which deployment serves which model again, instead of which."""

    deployment: str = Field(description="The stable deployment.")
    restored_model: str = Field(description="The model it serves again.")
    replaced_model: str = Field(description="The model it served until now.")
    message: str = Field(description="One line saying so.")
