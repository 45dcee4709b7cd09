"""The ``cleanup`` flow: free a resource of old fine-tuned deployments and uploaded files.

Azure allows five fine-tuned deployments and fifty files per resource; every fine-tuning run
leaves a deployment and files behind. This flow reads what must stay (the continuous
pipelines' stable deployments, promoted models and rollback targets, and the deployments
named in ``keep_deployments``), lists the resource, decides for every deployment and file
(`ftflow.cleanup.plan`), publishes the decisions as the ``cleanup-plan`` artifact, and, unless
it is a dry run (the default), deletes what is older than ``older_than_days``.

A deletion that fails does not stop the others; the run then fails naming them. Deleting
is idempotent (already gone counts as deleted), so a re-run finishes the job.

(No ``from __future__ import annotations`` here: it breaks pydantic parameters under
``flow.serve()``.)
"""

from prefect import flow
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from flows._stages import connect_azure, stage
from ftflow.azure.clients import AzureClients
from ftflow.cleanup import (
    CleanupPlan,
    CleanupRequest,
    CleanupResult,
    cleanup_message,
    plan_cleanup,
    summarise,
)
from tasks.cleanup import publish_plan, read_protection, remove_file, take_inventory
from tasks.notify import failure_hooks
from tasks.promote import notify_decision, remove_deployment, run_url

__all__ = ["cleanup"]


class DeletionsFailed(RuntimeError):
    """Some deletions failed after their retries; the others were done."""


@flow(name="cleanup", **failure_hooks())
async def cleanup(request: CleanupRequest | None = None) -> CleanupResult:
    """Delete (or, in a dry run, list) deployments and files nothing needs any more."""
    request = request or CleanupRequest()
    logger = get_run_logger()
    progress: dict[str, str] = {}
    with stage("protect", progress):
        protection = await read_protection(request.protect_variables, request.keep_deployments)
    with stage("configure", progress):
        azure = await connect_azure()
    try:
        with stage("inventory", progress):
            inventory = take_inventory(azure)
            plan = plan_cleanup(
                inventory,
                protection,
                request.older_than_days,
                deployments=request.deployments,
                files=request.files,
            )
            await publish_plan(plan, request.dry_run)
        for decision in plan.decisions:
            action = (
                ("would delete" if request.dry_run else "deleting") if decision.delete else "keep"
            )
            logger.info("%s %s %s: %s", action, decision.kind, decision.name, decision.reason)
        for warning in plan.warnings():
            logger.warning(warning)
        failed = [] if request.dry_run else _delete(plan, request, azure)
    finally:
        azure.close()
    result = summarise(plan, request.dry_run, failed)
    logger.info(result.message)
    if not request.dry_run and (result.deployments or result.files):
        notify_decision(
            cleanup_message(flow_run.name or "", result, run_url()), request.notify_blocks
        )
    if failed:
        raise DeletionsFailed(
            f"{len(failed)} deletion(s) failed: {', '.join(failed)}; the rest were deleted, "
            "and a re-run retries what is left (see the task runs for the service's messages)"
        )
    return result


def _delete(plan: CleanupPlan, request: CleanupRequest, azure: AzureClients) -> list[str]:
    """Delete what the plan says, deployments first; the names of those that failed."""
    failed = []
    for decision in plan.deletions("deployment"):
        state = remove_deployment(
            decision.name, azure, request.deploy_timeout_minutes, return_state=True
        )
        if not state.is_completed():
            failed.append(decision.name)
    for decision in plan.deletions("file"):
        if not remove_file(decision.name, azure, return_state=True).is_completed():
            failed.append(decision.name)
    return failed
