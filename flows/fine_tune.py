"""The ``fine-tune`` flow: from JSONL data to a deployed, smoke-tested model.

validate → upload → submit → wait → retrieve → deploy → smoke test, with notifications on
success, failure, crash and cancellation. A re-run with the same parameters resumes where the
last run stopped: finished stages come back from Prefect's cache (keyed on data content and
configuration), and every remote create is preceded by a lookup on the service, so nothing
is uploaded, trained or deployed twice even on another machine with no cache.

(No ``from __future__ import annotations`` here: it breaks pydantic parameters under
``flow.serve()``.)
"""

from prefect import flow
from prefect.logging import get_run_logger

from flows._stages import connect_azure, deploy_stage, stage, train_stages
from ftflow.azure.clients import AzureClients
from ftflow.request import FineTuneRequest, FineTuneResult
from tasks.notify import notification_hooks
from tasks.smoke_test import smoke_test
from tasks.validate import validate_data

__all__ = ["fine_tune"]


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
        azure = await connect_azure()
    try:
        return await _train_and_deploy(request, azure, progress)
    finally:
        azure.close()
        logger.debug("closed the Azure clients")


async def _train_and_deploy(
    request: FineTuneRequest, azure: AzureClients, progress: dict[str, str]
) -> FineTuneResult:
    trained = await train_stages(request, azure, progress)
    deploy_stage(request, trained.model, azure, progress)
    with stage("smoke_test", progress):
        smoke = smoke_test(
            request.deployment_name,
            request.smoke_prompts,
            request.base_deployment,
            request.fail_on_smoke_test,
            azure.data,
        )
    summary = trained.summary
    return FineTuneResult(
        job_id=trained.job_id,
        fine_tuned_model=trained.model,
        deployment=request.deployment_name,
        training_file_id=trained.training_file_id,
        validation_file_id=trained.validation_file_id,
        trained_tokens=summary.get("trained_tokens"),
        estimated_usd=summary.get("estimated_usd"),
        final_metrics=summary.get("final_metrics") or {},
        smoke_passed=bool(smoke["passed"]),
        smoke_verdict=str(smoke["verdict"]),
    )
