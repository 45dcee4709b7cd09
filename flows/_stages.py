"""Stages shared by the flows: naming failures, connecting, training, deploying.

``fine-tune`` and ``continuous-fine-tune`` train the same way: upload the data once per
content, submit and wait in one transaction (a failed job is not cached, so a re-run starts a
fresh one), read the results, deploy. Each stage runs inside `stage`, which turns any error
into `ftflow.notifications.StageFailed` naming the stage and what the run knew so far.

(No ``from __future__ import annotations`` in flow modules: it breaks pydantic parameters
under ``flow.serve()``.)
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect.concurrency.asyncio import concurrency
from prefect.logging import get_run_logger
from prefect.transactions import transaction

from ftflow.azure.clients import AzureClients, connect
from ftflow.azure.deployments import DeploymentSpec
from ftflow.azure.files import local_file
from ftflow.azure.jobs import JobSpec
from ftflow.azure.limits import training_limit_name
from ftflow.notifications import StageFailed
from ftflow.request import FineTuneRequest
from ftflow.settings import DataPlaneSettings, IdentitySettings, ManagementSettings
from tasks.credentials import load_secret_blocks
from tasks.deploy import deploy_model
from tasks.retrieve import retrieve_results
from tasks.submit import submit_job
from tasks.upload import upload_file
from tasks.wait import wait_for_training

__all__ = ["Trained", "connect_azure", "deploy_stage", "stage", "train_stages"]

_SLOT_LEASE_SECONDS = 60.0
"""How long a training slot outlives a run that died holding it (renewed while it lives)."""


@contextmanager
def stage(name: str, progress: dict[str, str]) -> Iterator[None]:
    """Name the stage in any failure, with what the run knows so far (job, model …)."""
    try:
        yield
    except StageFailed:
        raise
    except Exception as error:
        raise StageFailed(name, str(error) or type(error).__name__, progress) from error


async def connect_azure() -> AzureClients:
    """Both planes' clients, from the settings: the environment's, and the Prefect Secret
    blocks ``FTFLOW_SECRET_BLOCKS`` names (`tasks.credentials`)."""
    await load_secret_blocks()
    return connect(DataPlaneSettings(), ManagementSettings(), IdentitySettings())


@dataclass(frozen=True)
class Trained:
    """What training produced: the job, the model it started from and made, files, results."""

    job_id: str
    base_model: str
    model: str
    training_file_id: str
    validation_file_id: str | None
    summary: dict[str, Any] = field(default_factory=dict)


async def train_stages(
    request: FineTuneRequest, azure: AzureClients, progress: dict[str, str]
) -> Trained:
    """Upload, submit and wait, retrieve: ``request.base_model`` trained on its files."""
    with stage("upload", progress):
        uploaded = {}
        roles = {"training": request.training_file, "validation": request.validation_file}
        for role, path in roles.items():
            if path is not None:
                local = local_file(Path(path))
                uploaded[role] = upload_file(path, local.sha256, role, azure.resource, azure)
        training_id = str(uploaded["training"]["id"])
        validation_id = str(uploaded["validation"]["id"]) if "validation" in uploaded else None
        progress["training_file_id"] = training_id
    spec = JobSpec(
        model=request.base_model,
        training_file=training_id,
        validation_file=validation_id,
        suffix=request.suffix,
        seed=request.seed,
        method=request.method,
        hyperparameters=request.hyperparameters(),
        training_type=request.training_type,
    )
    # Azure trains one job per resource at a time: the run holds the resource's training
    # slot from submit until its job ends, so concurrent runs queue in Prefect (visible as
    # waiting on the limit) rather than in Azure. Without the limit (no `deployments.setup`
    # on this server) Prefect logs that it is missing and the run goes on unguarded.
    limit = training_limit_name(azure.account)
    get_run_logger().info("Waiting for the training slot %r", limit)
    async with concurrency(limit, occupy=1, lease_duration=_SLOT_LEASE_SECONDS):
        # Submit and wait commit together: a job that fails is not cached, so a re-run looks
        # again and, finding only failed jobs, starts a fresh one instead of re-reading it.
        with transaction():
            with stage("submit", progress):
                submitted = submit_job(spec, azure.resource, azure)
                progress["job_id"] = str(submitted["id"])
            with stage("wait", progress):
                finished = await wait_for_training(
                    progress["job_id"],
                    request.job_timeout_minutes,
                    request.poll_interval_max_seconds,
                    azure,
                )
    model = str(finished["fine_tuned_model"])
    progress["model"] = model
    with stage("retrieve", progress):
        summary = retrieve_results(progress["job_id"], azure.data, request.base_model)
    return Trained(
        progress["job_id"], request.base_model, model, training_id, validation_id, summary
    )


def deploy_stage(
    request: FineTuneRequest, model: str, azure: AzureClients, progress: dict[str, str]
) -> dict[str, object]:
    """Make ``request.deployment_name`` serve ``model``; wait until it has Succeeded."""
    with stage("deploy", progress):
        deployed = deploy_model(
            DeploymentSpec(
                name=request.deployment_name,
                model=model,
                sku=request.deployment_sku,
                capacity=request.deployment_capacity,
            ),
            request.deploy_timeout_minutes,
            azure,
        )
        progress["deployment"] = str(deployed["name"])
    return deployed
