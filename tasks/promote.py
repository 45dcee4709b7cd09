"""Tasks around promotion: what a deployment serves, removing the candidate, telling people.

Pointing the stable deployment at a model is `tasks.deploy.deploy_model` (an ARM PUT that
updates the model in place, so the name and its clients stay the same). The candidate
deployment is deleted after every judgement: Azure allows five fine-tuned deployments per
resource, and a candidate has no use once judged.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task
from prefect.cache_policies import NONE
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.settings import get_current_settings

from ftflow.azure.clients import AzureClients
from ftflow.azure.deployments import DeploymentState, delete_deployment, read_deployment
from ftflow.notifications import Message, known_secrets
from ftflow.settings import NotificationSettings
from tasks._policy import TRANSIENT_RETRIES
from tasks.notify import send

__all__ = ["notify_decision", "read_serving", "remove_deployment", "run_url"]


@task(name="read-deployment", task_run_name="read-{name}", cache_policy=NONE, **TRANSIENT_RETRIES)
def read_serving(name: str, azure: AzureClients) -> DeploymentState | None:
    """Deployment ``name`` as Resource Manager reports it, or ``None`` when there is none."""
    found = read_deployment(azure.management, azure.resource_group, azure.account, name)
    if found is None:
        get_run_logger().info("Deployment %r does not exist", name)
    else:
        get_run_logger().info("Deployment %r: %s, %s", name, found.model, found.provisioning_state)
    return found


@task(
    name="delete-deployment", task_run_name="delete-{name}", cache_policy=NONE, **TRANSIENT_RETRIES
)
def remove_deployment(name: str, azure: AzureClients, timeout_minutes: int = 10) -> None:
    """Delete deployment ``name``; already gone counts as done."""
    delete_deployment(
        azure.management,
        azure.resource_group,
        azure.account,
        name,
        timeout_seconds=timeout_minutes * 60.0,
    )
    get_run_logger().info("Deleted deployment %r", name)


def run_url() -> str | None:
    """This flow run's page in the Prefect UI, when the UI's address is known."""
    ui_url, run_id = get_current_settings().ui_url, flow_run.id
    return f"{ui_url.rstrip('/')}/runs/flow-run/{run_id}" if ui_url and run_id else None


@task(name="notify", cache_policy=NONE)
def notify_decision(message: Message, requested: Sequence[str]) -> list[str]:
    """Send ``message`` through the requested blocks and ``FTFLOW_NOTIFY_BLOCKS``.

    Returns the blocks that failed; a failed delivery is logged, never raised, so telling
    people can never undo a decision that was already carried out.
    """
    names = [*requested, *NotificationSettings().blocks]
    blocks = list(dict.fromkeys(name for name in names if name))
    logger = get_run_logger()
    if not blocks:
        logger.warning("No notification blocks named; nobody told: %s", message.subject)
        return []
    failed = send(message, blocks, secrets=known_secrets())
    if failed:
        logger.error("%d of %d notifications failed: %s", len(failed), len(blocks), failed)
    return failed
