"""The ``fine-tune`` flow: from JSONL data to a deployed, smoke-tested model.

validate → upload → submit → wait → retrieve → deploy → smoke test, with notifications on
success, failure, crash and cancellation. A re-run with the same parameters resumes where the
last run stopped: finished stages come back from Prefect's cache (keyed on data content and
configuration), and every remote create is preceded by a lookup on the service, so nothing
is uploaded, trained or deployed twice even on another machine with no cache.

(No ``from __future__ import annotations`` here: it breaks pydantic parameters under
``flow.serve()``.)
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow
from prefect.logging import get_run_logger
from prefect.transactions import transaction

from ftflow.azure.clients import AzureClients, connect
from ftflow.azure.deployments import DeploymentSpec
from ftflow.azure.files import local_file
from ftflow.azure.jobs import JobSpec
from ftflow.notifications import StageFailed
from ftflow.request import FineTuneRequest, FineTuneResult
from ftflow.settings import DataPlaneSettings, IdentitySettings, ManagementSettings
from tasks.deploy import deploy_model
from tasks.notify import notification_hooks
from tasks.retrieve import retrieve_results
from tasks.smoke_test import smoke_test
from tasks.submit import submit_job
from tasks.upload import upload_file
from tasks.validate import validate_data
from tasks.wait import wait_for_training

__all__ = ["fine_tune"]


@contextmanager
def stage(name: str, progress: dict[str, str]) -> Iterator[None]:
    """Name the stage in any failure, with what the run knows so far (job, model …)."""
    try:
        yield
    except StageFailed:
        raise
    except Exception as error:
        raise StageFailed(name, str(error) or type(error).__name__, progress) from error


def _connect() -> AzureClients:
    return connect(DataPlaneSettings(), ManagementSettings(), IdentitySettings())


@flow(name="fine-tune", **notification_hooks())
async def fine_tune(request: FineTuneRequest) -> FineTuneResult:
    """Fine-tune ``request.base_model`` on the data, deploy it and smoke-test the deployment."""
    logger = get_run_logger()
    progress: dict[str, str] = {"model": request.base_model}
    with stage("validate", progress):
        validate_data(
            request.training_file, request.validation_file, request.base_model, request.n_epochs
        )
    with stage("configure", progress):
        azure = _connect()
    try:
        return await _train_and_deploy(request, azure, progress)
    finally:
        azure.close()
        logger.debug("closed the Azure clients")


async def _train_and_deploy(
    request: FineTuneRequest, azure: AzureClients, progress: dict[str, str]
) -> FineTuneResult:
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
    # Submit and wait commit together: a job that fails is not cached, so a re-run looks
    # again and, finding only failed jobs, starts a fresh one instead of re-reading the old.
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
    with stage("smoke_test", progress):
        smoke = smoke_test(
            request.deployment_name,
            request.smoke_prompts,
            request.base_deployment,
            request.fail_on_smoke_test,
            azure.data,
        )
    return FineTuneResult(
        job_id=progress["job_id"],
        fine_tuned_model=model,
        deployment=request.deployment_name,
        training_file_id=training_id,
        validation_file_id=validation_id,
        trained_tokens=summary.get("trained_tokens"),
        estimated_usd=summary.get("estimated_usd"),
        final_metrics=summary.get("final_metrics") or {},
        smoke_passed=bool(smoke["passed"]),
        smoke_verdict=str(smoke["verdict"]),
    )
