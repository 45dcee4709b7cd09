"""ARM routes: deployments (list, get, create-or-update as a long-running operation, delete), the
operation status behind ``Azure-AsyncOperation``, and the account itself (read only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from emulator.core.http import Call, json_response
from emulator.deployments.errors import (
    AccountNotFound,
    DeploymentNotFound,
    ResourceGroupNotFound,
    SubscriptionNotFound,
)

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = [
    "create_or_update",
    "delete",
    "get",
    "get_account",
    "list_deployments",
    "operation_status",
]


def _check_subscription(backend: Backend, call: Call) -> None:
    subscription = call.params["subscription"]
    if subscription.lower() != backend.config.subscription_id.lower():
        raise SubscriptionNotFound(subscription)


def _account_id(backend: Backend, call: Call) -> str:
    _check_subscription(backend, call)
    config = backend.config
    group, account = call.params["group"], call.params["account"]
    if group.lower() != config.resource_group.lower():
        raise ResourceGroupNotFound(group)
    if account.lower() != config.account_name.lower():
        raise AccountNotFound(group, account)
    return (
        f"/subscriptions/{config.subscription_id}/resourceGroups/{config.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{config.account_name}"
    )


def _lro_headers(backend: Backend, call: Call, operation_id: str) -> dict[str, str]:
    config = backend.config
    url = (
        f"{call.base_url}/subscriptions/{config.subscription_id}/providers/"
        f"Microsoft.CognitiveServices/locations/{config.location}/operationStatuses/"
        f"{operation_id}?api-version={call.api_version}"
    )
    return {"Azure-AsyncOperation": url, **backend.lro_delay_headers()}


def get_account(backend: Backend, call: Call) -> Response:
    """``GET …/accounts/{account}``: the Azure OpenAI account and its endpoint."""
    resource_id = _account_id(backend, call)
    config = backend.config
    return json_response(
        {
            "id": resource_id,
            "name": config.account_name,
            "type": "Microsoft.CognitiveServices/accounts",
            "kind": "OpenAI",
            "location": config.location,
            "sku": {"name": "S0"},
            "properties": {
                "endpoint": f"{call.base_url}/",
                "endpoints": {"OpenAI Language Model Instance API": f"{call.base_url}/"},
                "provisioningState": "Succeeded",
                "customSubDomainName": config.account_name,
                "publicNetworkAccess": "Enabled",
            },
        }
    )


def list_deployments(backend: Backend, call: Call) -> Response:
    """``GET …/deployments``."""
    resource_id = _account_id(backend, call)
    now = backend.now()
    client = backend.config.client_id
    value = [d.to_arm(now, resource_id, client) for d in backend.deployments.list_all()]
    return json_response({"value": value})


def get(backend: Backend, call: Call) -> Response:
    """``GET …/deployments/{name}``."""
    resource_id = _account_id(backend, call)
    record = backend.deployments.get(call.params["name"])
    return json_response(record.to_arm(backend.now(), resource_id, backend.config.client_id))


def create_or_update(backend: Backend, call: Call) -> Response:
    """``PUT …/deployments/{name}``: 201 (new) or 200, ``Azure-AsyncOperation`` to poll."""
    resource_id = _account_id(backend, call)
    record, created = backend.deployments.put(call.params["name"], call.json_object())
    body = record.to_arm(backend.now(), resource_id, backend.config.client_id)
    headers = _lro_headers(backend, call, record.operation_id)
    return json_response(body, 201 if created else 200, headers)


def delete(backend: Backend, call: Call) -> Response:
    """``DELETE …/deployments/{name}``: 200 when deleted, 204 when there was none."""
    _account_id(backend, call)
    deleted = backend.deployments.delete(call.params["name"])
    return Response(status_code=200 if deleted else 204)


def operation_status(backend: Backend, call: Call) -> Response:
    """``GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{l}/
    operationStatuses/{id}``: the async operation document."""
    _check_subscription(backend, call)
    operation = backend.deployments.operation(call.params["operation"])
    if operation is None:
        raise DeploymentNotFound(call.params["operation"])
    now = backend.now()
    path = call.path
    headers = backend.lro_delay_headers() if operation.status(now) == "Creating" else {}
    return json_response(operation.to_arm(now, path), headers=headers)
