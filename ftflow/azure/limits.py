"""Azure OpenAI's per-resource limits that the pipeline plans around, and the names of the
Prefect global concurrency limits that serialise work on one resource across runs.

The figures are Azure's documented quotas (fine-tuning quotas page, 2025-07): they are not
configurable per resource, so they are constants rather than settings.
"""

from __future__ import annotations

__all__ = [
    "FILES_PER_RESOURCE",
    "FINE_TUNED_DEPLOYMENTS_PER_RESOURCE",
    "QUEUED_JOBS_PER_RESOURCE",
    "RUNNING_JOBS_PER_RESOURCE",
    "training_limit_name",
    "upload_limit_name",
]

RUNNING_JOBS_PER_RESOURCE = 1
"""Training jobs one resource runs at a time; the others queue."""

QUEUED_JOBS_PER_RESOURCE = 20
"""Jobs one resource holds in its queue."""

FINE_TUNED_DEPLOYMENTS_PER_RESOURCE = 5
"""Deployments of fine-tuned models one resource may have."""

FILES_PER_RESOURCE = 50
"""Fine-tuning files one resource may hold."""


def training_limit_name(account: str) -> str:
    """The Prefect global concurrency limit guarding training on Azure OpenAI ``account``.

    It has `RUNNING_JOBS_PER_RESOURCE` slots; a flow holds one from submitting its job until
    the job ends, so concurrent runs on one resource train one after another.
    """
    return f"azure-training-{account}"


def upload_limit_name(account: str) -> str:
    """The Prefect global concurrency limit around looking for and uploading a file.

    One slot per ``account``: two runs uploading the same content at once would each find
    nothing and upload it twice; holding the slot from the lookup to the create makes the
    second find the first's file. Only the lookup and the upload hold it, not the processing.
    """
    return f"azure-files-{account}"
