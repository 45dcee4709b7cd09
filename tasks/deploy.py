"""Deploy the fine-tuned model through Resource Manager and wait until it has Succeeded."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NONE
from prefect.logging import get_run_logger

from ftflow.azure.clients import AzureClients
from ftflow.azure.deployments import DeploymentSpec, deploy
from tasks._policy import TRANSIENT_RETRIES

__all__ = ["deploy_model"]


@task(name="deploy", task_run_name="deploy-{spec.name}", cache_policy=NONE, **TRANSIENT_RETRIES)
def deploy_model(
    spec: DeploymentSpec, timeout_minutes: int, azure: AzureClients
) -> dict[str, object]:
    """Create or update ``spec.name``; reuse it when it already serves the model.

    Not cached: reading the deployment is the cheap, authoritative check, and a cache would
    not notice a deployment deleted since.
    """
    logger = get_run_logger()
    state = deploy(
        azure.management,
        azure.resource_group,
        azure.account,
        spec,
        timeout_seconds=timeout_minutes * 60.0,
    )
    if state.changed:
        logger.info("deployed %s as %s: %s", spec.model, spec.name, state.provisioning_state)
    else:
        logger.info("%s already serves %s: nothing to do", spec.name, spec.model)
    return {
        "name": state.name,
        "model": state.model,
        "sku": state.sku,
        "capacity": state.capacity,
        "provisioning_state": state.provisioning_state,
        "changed": state.changed,
    }
