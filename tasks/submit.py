"""Create the fine-tuning job once per set of inputs, or re-attach to it."""

from __future__ import annotations

from prefect import task
from prefect.logging import get_run_logger

from ftflow.azure.clients import AzureClients
from ftflow.azure.jobs import JobSpec, submit_once
from tasks._policy import RESUMABLE, TRANSIENT_RETRIES

__all__ = ["submit_job"]


@task(name="submit", **RESUMABLE, **TRANSIENT_RETRIES)
def submit_job(spec: JobSpec, resource: str, azure: AzureClients) -> dict[str, object]:
    """The job for ``spec`` on ``resource``: looked up first, created only if absent."""
    logger = get_run_logger()
    job, created = submit_once(azure.data, spec, azure.api_version)
    if created:
        logger.info("created fine-tuning job %s for %s (seed %s)", job.id, spec.model, job.seed)
    else:
        logger.info("re-attached to fine-tuning job %s (%s), created earlier", job.id, job.status)
    return {"id": job.id, "status": job.status, "created": created, "seed": job.seed}
