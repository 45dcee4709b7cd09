"""What a user asks the ``cleanup`` flow for, and what it reports back."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ftflow.continuous.request import VARIABLE_NAME
from ftflow.request import DEPLOYMENT_NAME

__all__ = ["CleanupRequest", "CleanupResult"]

_Variable = Annotated[str, StringConstraints(pattern=VARIABLE_NAME)]
_Deployment = Annotated[str, StringConstraints(pattern=DEPLOYMENT_NAME)]


class CleanupRequest(BaseModel):
    """One cleanup of an Azure OpenAI resource; a dry run unless ``dry_run`` is false."""

    model_config = ConfigDict(extra="forbid")

    older_than_days: float = Field(
        default=7.0,
        ge=0,
        le=3650,
        description="Only what is older than this is deleted (by the service's clock): a "
        "deployment since it was last changed, a file since it was uploaded.",
    )
    dry_run: bool = Field(
        default=True, description="List what would be deleted and delete nothing."
    )
    deployments: bool = Field(default=True, description="Clean deployments of fine-tuned models.")
    files: bool = Field(default=True, description="Clean uploaded fine-tuning files.")
    protect_variables: list[_Variable] = Field(
        default_factory=list,
        description="Prefect Variables of continuous-fine-tune pipelines (e.g. "
        "continuous-fine-tune): their stable deployment, promoted model and rollback target "
        "are never deleted. A Variable that does not exist is an error.",
    )
    keep_deployments: list[_Deployment] = Field(
        default_factory=list,
        description="Deployments never deleted, whatever they serve (e.g. the fine-tune "
        "flow's deployment_name).",
    )
    deploy_timeout_minutes: int = Field(
        default=10, ge=1, le=120, description="Longest wait for one deployment's deletion."
    )
    notify_blocks: list[str] = Field(
        default_factory=list,
        description="Prefect notification block names told of what was deleted and of failures.",
    )


class CleanupResult(BaseModel):
    """What the run deleted (or, in a dry run, would have), and what stays in use."""

    dry_run: bool
    deployments: list[str] = Field(description="Deployments deleted, or that would be.")
    files: list[str] = Field(description="File ids deleted, or that would be.")
    kept_deployments: int = Field(description="Fine-tuned deployments left on the resource.")
    kept_files: int = Field(description="Fine-tuning files left on the resource.")
    failed: list[str] = Field(default_factory=list, description="Deletions that failed.")
    warnings: list[str] = Field(default_factory=list)
    message: str
