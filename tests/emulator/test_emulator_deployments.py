"""ARM deployments through CognitiveServicesManagementClient: LRO, states, quotas and errors."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    Harness,
    geography,
)


def _deployment(
    model: str, version: str = "1", sku: str = "Standard", capacity: int = 1
) -> Deployment:
    return Deployment(
        sku=Sku(name=sku, capacity=capacity),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=model, version=version)
        ),
    )


def _trained(emu: Harness) -> Any:
    job = emu.train(emu.azure(), geography(), hyperparameters={"n_epochs": 3})
    assert job.status == "succeeded"
    return job


def test_deploy_fine_tuned_model_as_long_running_operation(emu: Harness) -> None:
    job = _trained(emu)
    arm = emu.arm()
    raw: list[Any] = []
    poller = arm.deployments.begin_create_or_update(
        emu.group,
        emu.account,
        "ft-support",
        _deployment(job.fine_tuned_model),
        raw_response_hook=lambda response: raw.append(response.http_response),
    )
    first = raw[0]
    assert first.status_code == 201
    assert "/operationStatuses/" in first.headers["Azure-AsyncOperation"]
    assert first.headers["retry-after-ms"] == "50"
    assert first.json()["properties"]["provisioningState"] == "Creating"
    creating = arm.deployments.get(emu.group, emu.account, "ft-support")
    assert creating.properties.provisioning_state == "Creating"
    emu.advance(301)
    deployed = poller.result()
    assert deployed.properties.provisioning_state == "Succeeded"
    assert deployed.name == "ft-support"
    assert deployed.properties.model.name == job.fine_tuned_model
    assert deployed.properties.model.version == "1"
    assert deployed.sku.name == "Standard"
    assert deployed.sku.capacity == 1
    assert deployed.id == (
        f"/subscriptions/{emu.env['AZURE_SUBSCRIPTION_ID']}/resourceGroups/{emu.group}/providers/"
        f"Microsoft.CognitiveServices/accounts/{emu.account}/deployments/ft-support"
    )


def test_deploy_base_model_and_list_and_delete(emu: Harness) -> None:
    emu.deploy("base", "gpt-4o-mini", "2024-07-18", sku="GlobalStandard")
    emu.deploy("dev", "gpt-4.1-mini", "2025-04-14", sku="Developer")
    arm = emu.arm()
    assert [d.name for d in arm.deployments.list(emu.group, emu.account)] == ["base", "dev"]
    arm.deployments.begin_delete(emu.group, emu.account, "base").result()
    assert [d.name for d in arm.deployments.list(emu.group, emu.account)] == ["dev"]
    with pytest.raises(ResourceNotFoundError):
        arm.deployments.get(emu.group, emu.account, "base")


def test_developer_deployment_expires_after_24_hours(emu: Harness) -> None:
    emu.deploy("dev", "gpt-4.1-mini", "2025-04-14", sku="Developer")
    emu.advance(24 * 3600)
    with pytest.raises(ResourceNotFoundError):
        emu.arm().deployments.get(emu.group, emu.account, "dev")


def test_deploy_checkpoint(emu: Harness) -> None:
    job = _trained(emu)
    checkpoint = emu.azure().fine_tuning.jobs.checkpoints.list(job.id).data[1]
    deployed = emu.deploy("ckpt", checkpoint.fine_tuned_model_checkpoint)
    assert deployed.properties.provisioning_state == "Succeeded"


def test_deploy_unknown_model_is_rejected(emu: Harness) -> None:
    with pytest.raises(HttpResponseError) as raised:
        emu.arm().deployments.begin_create_or_update(
            emu.group, emu.account, "x", _deployment("gpt-4o-mini-2024-07-18.ft-" + "0" * 32)
        )
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "DeploymentModelNotSupported"
    assert raised.value.error.message == (
        "The model 'Publisher: , Format: OpenAI, Name: gpt-4o-mini-2024-07-18.ft-"
        + "0" * 32
        + ", Version: 1, Source: , SourceAccount: ' of account deployment is not supported."
    )


def test_deploy_model_whose_job_has_not_succeeded_is_rejected(emu: Harness) -> None:
    client = emu.azure()
    training = emu.upload(client, geography())
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18", training_file=training.id, hyperparameters={"n_epochs": 3}
    )
    emu.advance(90 + 240 + 100)
    checkpoint = client.fine_tuning.jobs.checkpoints.list(job.id).data[0]
    with pytest.raises(HttpResponseError) as raised:
        emu.arm().deployments.begin_create_or_update(
            emu.group, emu.account, "early", _deployment(checkpoint.fine_tuned_model_checkpoint)
        )
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "DeploymentModelNotSupported"
    assert raised.value.error.message == (
        f"The fine-tuned model '{checkpoint.fine_tuned_model_checkpoint}' is not ready: its job "
        f"{job.id} has not succeeded."
    )


def test_sixth_fine_tuned_deployment_is_rejected(emu: Harness) -> None:
    job = _trained(emu)
    names = [
        c.fine_tuned_model_checkpoint
        for c in emu.azure().fine_tuning.jobs.checkpoints.list(job.id).data
    ]
    arm = emu.arm()
    for index in range(5):
        arm.deployments.begin_create_or_update(
            emu.group, emu.account, f"ft{index}", _deployment(names[index % 3])
        )
    emu.deploy("base", "gpt-4o-mini", "2024-07-18")
    with pytest.raises(HttpResponseError) as raised:
        arm.deployments.begin_create_or_update(emu.group, emu.account, "ft5", _deployment(names[0]))
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "QuotaExceeded"
    assert raised.value.error.message == (
        "The resource already has 5 fine-tuned model deployments, the maximum allowed is 5. "
        "Delete a fine-tuned deployment and try again."
    )


def test_failed_deployment_blocks_its_name_until_deleted(emu: Harness) -> None:
    job = _trained(emu)
    emu.fault("deployments", name="doomed", message="Deployment failed: capacity unavailable.")
    arm = emu.arm()
    poller = arm.deployments.begin_create_or_update(
        emu.group, emu.account, "doomed", _deployment(job.fine_tuned_model)
    )
    emu.advance(301)
    with pytest.raises(HttpResponseError) as raised:
        poller.result()
    assert "Deployment failed: capacity unavailable." in str(raised.value)
    failed = arm.deployments.get(emu.group, emu.account, "doomed")
    assert failed.properties.provisioning_state == "Failed"
    with pytest.raises(ResourceExistsError) as conflict:
        arm.deployments.begin_create_or_update(
            emu.group, emu.account, "doomed", _deployment(job.fine_tuned_model)
        )
    assert conflict.value.error is not None
    assert conflict.value.error.code == "Conflict"
    assert conflict.value.error.message == (
        "Deployment 'doomed' is in state Failed. Delete it before creating a deployment with "
        "this name."
    )
    arm.deployments.begin_delete(emu.group, emu.account, "doomed").result()
    assert emu.deploy("doomed", job.fine_tuned_model).properties.provisioning_state == "Succeeded"


def test_update_deployment_capacity_is_immediate(emu: Harness) -> None:
    emu.deploy("base", "gpt-4o-mini", "2024-07-18")
    poller = emu.arm().deployments.begin_create_or_update(
        emu.group, emu.account, "base", _deployment("gpt-4o-mini", "2024-07-18", capacity=5)
    )
    updated = poller.result()
    assert updated.sku.capacity == 5
    assert updated.properties.provisioning_state == "Succeeded"


@pytest.mark.parametrize(
    ("sku", "capacity", "code", "message"),
    [
        ("Premium", 1, "InvalidResourceProperties",
         "The specified SKU 'Premium' is not supported; use Standard, GlobalStandard or "
         "Developer."),
        ("Standard", 5000, "InsufficientQuota",
         "This operation require 5000 new capacity in quota Tokens Per Minute (thousands), which "
         "is bigger than the current available capacity 1000. The current quota usage is 0 and "
         "the quota limit is 1000."),
    ],
)  # fmt: skip
def test_deploy_with_bad_sku_is_rejected(
    emu: Harness, sku: str, capacity: int, code: str, message: str
) -> None:
    with pytest.raises(HttpResponseError) as raised:
        emu.arm().deployments.begin_create_or_update(
            emu.group, emu.account, "x", _deployment("gpt-4o-mini", "2024-07-18", sku, capacity)
        )
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == code
    assert raised.value.error.message == message


def test_get_unknown_deployment_is_404(emu: Harness) -> None:
    with pytest.raises(ResourceNotFoundError) as raised:
        emu.arm().deployments.get(emu.group, emu.account, "nope")
    assert raised.value.error is not None
    assert raised.value.error.code == "DeploymentNotFound"
    assert raised.value.error.message == "Deployment 'nope' not found."


def test_wrong_resource_group_and_account_are_404(emu: Harness) -> None:
    arm = emu.arm()
    with pytest.raises(ResourceNotFoundError) as group:
        list(arm.deployments.list("other-group", emu.account))
    assert group.value.error is not None
    assert group.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as account:
        list(arm.deployments.list(emu.group, "other-account"))
    assert account.value.error is not None
    assert account.value.error.code == "ResourceNotFound"


def test_unknown_arm_api_version_is_rejected(emu: Harness) -> None:
    arm = emu.arm(api_version="2019-01-01")
    with pytest.raises(HttpResponseError) as raised:
        list(arm.deployments.list(emu.group, emu.account))
    assert raised.value.status_code == 400
    assert raised.value.error is not None
    assert raised.value.error.code == "NoRegisteredProviderFound"


@pytest.mark.parametrize("version", ["2024-10-01", "2025-06-01", "2025-09-01"])
def test_supported_arm_api_versions(emu: Harness, version: str) -> None:
    assert list(emu.arm(api_version=version).deployments.list(emu.group, emu.account)) == []


def test_account_get_reports_the_endpoint(emu: Harness) -> None:
    account = emu.arm().accounts.get(emu.group, emu.account)
    assert account.properties.endpoint == emu.endpoint + "/"
    assert account.kind == "OpenAI"


def test_arm_paths_are_case_insensitive(emu: Harness) -> None:
    token = emu.credential().get_token("https://management.azure.com/.default").token
    http = emu.http(headers={"Authorization": f"Bearer {token}"})
    path = (
        f"/SUBSCRIPTIONS/{emu.env['AZURE_SUBSCRIPTION_ID']}/resourcegroups/{emu.group}/PROVIDERS/"
        f"microsoft.cognitiveservices/Accounts/{emu.account}/Deployments"
    )
    response = http.get(path, params={"api-version": "2025-09-01"})
    assert response.status_code == 200
    assert response.json() == {"value": []}
