"""Follow a fine-tuning job to its end: events into the run's logs, progress in the UI."""

from __future__ import annotations

import time
from uuid import UUID

from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from prefect import task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.logging import get_run_logger

from ftflow.azure.clients import AzureClients
from ftflow.azure.jobs import wait_for_job
from ftflow.azure.waiting import Backoff
from tasks._policy import RESUMABLE, TRANSIENT_RETRIES

__all__ = ["wait_for_training"]

_STATUS_PROGRESS = {"pending": 0.0, "validating_files": 1.0, "queued": 2.0, "running": 5.0}


def _progress(job: FineTuningJob) -> float:
    """Percent done: from the service's estimated finish while running, else by status."""
    if job.status == "succeeded":
        return 100.0
    started, finish = job.created_at, job.estimated_finish
    if job.status == "running" and finish and finish > started:
        share = (time.time() - started) / (finish - started)
        return max(5.0, min(99.0, 100.0 * share))
    return _STATUS_PROGRESS.get(job.status, 0.0)


@task(
    name="wait",
    task_run_name="wait-{job_id}",
    **RESUMABLE,
    **TRANSIENT_RETRIES,
)
async def wait_for_training(
    job_id: str, timeout_minutes: int, poll_max_seconds: float, azure: AzureClients
) -> dict[str, object]:
    """Poll with growing intervals until the job ends; fail with the service's reason."""
    logger = get_run_logger()
    artifact_id: UUID = await acreate_progress_artifact(
        progress=0.0, description=f"Training progress of {job_id}"
    )
    last = {"status": ""}

    def on_event(event: FineTuningJobEvent) -> None:
        logger.info("[%s] %s", event.level, event.message)

    async def on_status(job: FineTuningJob) -> None:
        if job.status != last["status"]:
            logger.info("job %s is %s", job_id, job.status)
            last["status"] = job.status
        await aupdate_progress_artifact(artifact_id=artifact_id, progress=_progress(job))

    job = await wait_for_job(
        azure.data,
        job_id,
        timeout_seconds=timeout_minutes * 60.0,
        backoff=Backoff(initial=1.0, factor=1.5, maximum=poll_max_seconds),
        on_event=on_event,
        on_status=on_status,
    )
    return {
        "id": job.id,
        "status": job.status,
        "fine_tuned_model": job.fine_tuned_model,
        "trained_tokens": job.trained_tokens,
        "finished_at": job.finished_at,
    }
