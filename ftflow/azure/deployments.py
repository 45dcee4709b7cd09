"""Model deployments through Resource Manager: create or reuse, and wait for Succeeded.

A deployment is addressed by name, and ARM's PUT is idempotent, so a repeated request never
creates a second deployment. Before writing we read the current state: the same model already
Succeeded means nothing to do; a Failed deployment of the same model (an earlier attempt of
ours) is deleted and created again; a Failed deployment of another model blocks its name until
someone deletes it, which we say rather than guess whose it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

from ftflow.azure.errors import (
    AuthenticationFailed,
    DeploymentFailed,
    PollTimeout,
    QuotaExceeded,
    from_management,
)
from ftflow.azure.waiting import Backoff

__all__ = [
    "BUSY_STATES",
    "DeploymentSpec",
    "DeploymentState",
    "delete_deployment",
    "deploy",
    "list_deployments",
    "read_deployment",
]

BUSY_STATES = frozenset({"accepted", "creating", "updating", "moving", "deleting"})
"""Provisioning states (lower case) of a deployment that is still changing."""


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    """A deployment: its name, the model it serves, and its SKU and capacity."""

    name: str
    model: str
    sku: str = "Standard"
    capacity: int = 1
    model_version: str = "1"
    model_format: str = "OpenAI"


@dataclass(frozen=True, slots=True)
class DeploymentState:
    """A deployment as Resource Manager reports it; ``changed`` when this call wrote it."""

    name: str
    model: str | None
    sku: str | None
    capacity: int | None
    provisioning_state: str
    changed: bool
    created_at: datetime | None = None
    modified_at: datetime | None = None


def _state(deployment: Deployment, changed: bool) -> DeploymentState:
    properties = deployment.properties
    model = properties.model if properties is not None else None
    system = deployment.system_data
    return DeploymentState(
        name=deployment.name or "",
        model=model.name if model is not None else None,
        sku=deployment.sku.name if deployment.sku is not None else None,
        capacity=deployment.sku.capacity if deployment.sku is not None else None,
        provisioning_state=(properties.provisioning_state if properties else None) or "Unknown",
        changed=changed,
        created_at=system.created_at if system is not None else None,
        modified_at=system.last_modified_at if system is not None else None,
    )


def read_deployment(
    client: CognitiveServicesManagementClient, group: str, account: str, name: str
) -> DeploymentState | None:
    """The deployment ``name``, or ``None`` if there is none."""
    try:
        found = client.deployments.get(group, account, name)
    except ResourceNotFoundError:
        return None
    except AzureError as error:
        raise from_management(error, f"reading deployment {name!r}") from error
    return _state(found, changed=False)


def list_deployments(
    client: CognitiveServicesManagementClient, group: str, account: str
) -> list[DeploymentState]:
    """Every deployment of ``account``, base and fine-tuned models alike."""
    try:
        return [_state(found, changed=False) for found in client.deployments.list(group, account)]
    except AzureError as error:
        raise from_management(error, f"listing the deployments of {account}") from error


def delete_deployment(
    client: CognitiveServicesManagementClient,
    group: str,
    account: str,
    name: str,
    *,
    timeout_seconds: float = 600.0,
) -> None:
    """Delete the deployment ``name`` and wait; one that is not there counts as deleted."""
    try:
        client.deployments.begin_delete(group, account, name).result(timeout=timeout_seconds)
    except ResourceNotFoundError:
        return
    except AzureError as error:
        raise from_management(error, f"deleting deployment {name!r}") from error


def _explain(error: AzureError, spec: DeploymentSpec, account: str) -> Exception:
    translated = from_management(error, f"deploying {spec.model} as {spec.name!r}")
    if isinstance(translated, QuotaExceeded):
        translated.message += (
            f"; free capacity or a fine-tuned deployment slot on {account} (at most 5 "
            "fine-tuned deployments per resource), or lower the capacity"
        )
    elif isinstance(translated, AuthenticationFailed):
        translated.message += (
            "; the identity needs the Cognitive Services Contributor role on the account"
        )
    return translated


def _wait_settled(
    client: CognitiveServicesManagementClient,
    group: str,
    account: str,
    name: str,
    *,
    timeout_seconds: float,
    sleep: Callable[[float], None],
) -> DeploymentState:
    """Wait out a deployment another run is creating, instead of writing over it."""
    for delay in Backoff(initial=2.0, maximum=30.0).delays(timeout_seconds):
        current = read_deployment(client, group, account, name)
        if current is None or current.provisioning_state.lower() not in BUSY_STATES:
            if current is None:
                raise DeploymentFailed(f"deployment {name!r} disappeared while being created")
            return current
        sleep(delay)
    raise PollTimeout(f"deployment {name!r} stayed busy for {timeout_seconds:.0f} s")


def deploy(
    client: CognitiveServicesManagementClient,
    group: str,
    account: str,
    spec: DeploymentSpec,
    *,
    timeout_seconds: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeploymentState:
    """Make ``spec.name`` serve ``spec.model`` and wait until it has Succeeded."""
    current = read_deployment(client, group, account, spec.name)
    if current is not None and current.provisioning_state.lower() in BUSY_STATES:
        current = _wait_settled(
            client, group, account, spec.name, timeout_seconds=timeout_seconds, sleep=sleep
        )
    if (
        current is not None
        and current.provisioning_state == "Failed"
        and current.model == spec.model
    ):
        # An earlier attempt at this very deployment failed (capacity, a transient fault):
        # Azure keeps the Failed deployment and refuses to update it, so replace it.
        delete_deployment(client, group, account, spec.name, timeout_seconds=timeout_seconds)
        current = None
    if current is not None:
        if current.provisioning_state == "Failed":
            raise DeploymentFailed(
                f"deployment {spec.name!r} on {account} is in state Failed and blocks its name; "
                f"delete it (Azure portal, or `az cognitiveservices account deployment delete "
                f"-g {group} -n {account} --deployment-name {spec.name}`) and run again",
                code="DeploymentFailed",
            )
        if (
            current.provisioning_state == "Succeeded"
            and current.model == spec.model
            and current.sku == spec.sku
            and current.capacity == spec.capacity
        ):
            return current
    body = Deployment(
        sku=Sku(name=spec.sku, capacity=spec.capacity),
        properties=DeploymentProperties(
            model=DeploymentModel(
                format=spec.model_format, name=spec.model, version=spec.model_version
            )
        ),
    )
    try:
        poller = client.deployments.begin_create_or_update(group, account, spec.name, body)
    except AzureError as error:
        raise _explain(error, spec, account) from error
    try:
        result = poller.result(timeout=timeout_seconds)
    except AzureError as error:
        reason = from_management(error, f"deployment {spec.name!r} of {spec.model} failed")
        raise DeploymentFailed(reason.message, code=reason.code or "DeploymentFailed") from error
    if result is None:
        raise PollTimeout(f"deployment {spec.name!r} did not finish in {timeout_seconds:.0f} s")
    state = _state(result, changed=True)
    if state.provisioning_state != "Succeeded":
        raise DeploymentFailed(
            f"deployment {spec.name!r} of {spec.model} ended {state.provisioning_state}",
            code="DeploymentFailed",
        )
    return state
