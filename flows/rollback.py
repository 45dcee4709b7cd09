"""The ``rollback`` flow: the stable deployment serves the previous model again.

Reads the continuous pipeline's state from its Prefect Variable, points the stable deployment
back at ``previous`` (an ARM update keeping the deployment's SKU and capacity), then records
it: ``promoted`` becomes the restored model, ``previous`` is cleared (one step back; a second
rollback has nothing to restore until the next promotion), and a ``rolled_back`` lineage entry
is added. The files trained on stay recorded: a rollback does not retrain on them.

Nothing is touched when there is nothing to roll back to. Failures and crashes notify through
the usual hooks; a completed rollback sends its own message.

Run it with ``ftflow rollback [--variable NAME]``.

(No ``from __future__ import annotations`` here: it breaks pydantic parameters under
``flow.serve()``.)
"""

from prefect import flow
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from flows._stages import connect_azure, stage
from ftflow.azure.deployments import DeploymentSpec
from ftflow.continuous import RollbackRequest, RollbackResult, record_rollback
from ftflow.continuous.report import rollback_message
from tasks.continuous import publish_lineage, read_state, write_state
from tasks.deploy import deploy_model
from tasks.notify import failure_hooks
from tasks.promote import notify_decision, read_serving, run_url

__all__ = ["rollback"]


@flow(name="rollback", **failure_hooks())
async def rollback(request: RollbackRequest) -> RollbackResult:
    """Restore the previous model on the stable deployment and record it."""
    logger = get_run_logger()
    progress: dict[str, str] = {}
    with stage("state", progress):
        state = await read_state(request.variable)
        after = record_rollback(state, flow_run.name)  # refuses before anything changes
    stable, restored, replaced = str(state.deployment), str(after.promoted), str(state.promoted)
    progress.update(deployment=stable, model=restored)
    with stage("configure", progress):
        azure = await connect_azure()
    try:
        with stage("rollback", progress):
            current = read_serving(stable, azure)
            if current is not None and current.model not in (replaced, restored):
                logger.warning(
                    "%s serves %s, not %s as recorded; restoring %s anyway",
                    stable,
                    current.model,
                    replaced,
                    restored,
                )
            spec = DeploymentSpec(
                stable,
                restored,
                sku=(current.sku if current and current.sku else "Standard"),
                capacity=(current.capacity if current and current.capacity else 1),
            )
            deploy_model(spec, request.deploy_timeout_minutes, azure)
    finally:
        azure.close()
    with stage("record", progress):
        recorded = await write_state(request.variable, after, max(len(after.lineage), 1))
    await publish_lineage(recorded, request.variable)
    result = RollbackResult(
        deployment=stable,
        restored_model=restored,
        replaced_model=replaced,
        message=f"{stable} serves {restored} again instead of {replaced}",
    )
    logger.info(result.message)
    notify_decision(
        rollback_message("rollback", flow_run.name or "", result, run_url()),
        request.notify_blocks,
    )
    return result
