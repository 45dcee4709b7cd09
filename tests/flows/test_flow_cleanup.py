"""The real ``cleanup`` flow against the emulator: a resource with a continuous pipeline's
stable and rollback deployments, a pinned one, a base model's, an old candidate and a young
one, files old and new; eight days pass on the service's clock.

What was deleted is read from the emulator (its request log and what Resource Manager lists),
never taken from the flow's word.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import pytest
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    SAMPLE,
    Emulator,
)
from prefect.artifacts import Artifact
from prefect.variables import Variable

from flows.cleanup import cleanup
from ftflow.azure.clients import AzureClients
from ftflow.azure.deployments import list_deployments
from ftflow.cleanup import CleanupRequest, CleanupResult
from ftflow.notifications import StageFailed
from tasks.cleanup import PLAN_KEY

DAY = 86400.0


def _upload(clients: AzureClients, name: str, content: bytes) -> str:
    created = clients.data.files.create(
        file=(name, content, "application/jsonl"), purpose="fine-tune"
    )
    deadline = time.monotonic() + 60
    while clients.data.files.retrieve(created.id).status != "processed":
        assert time.monotonic() < deadline, f"{name} never processed"
        time.sleep(0.05)
    return created.id


def _train(clients: AzureClients, file_id: str, suffixes: list[str]) -> list[str]:
    """One fine-tuned model per suffix, trained one after another as Azure does."""
    jobs = [
        clients.data.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=file_id, suffix=suffix, seed=1
        ).id
        for suffix in suffixes
    ]
    deadline = time.monotonic() + 120
    models = []
    for job_id in jobs:
        while (job := clients.data.fine_tuning.jobs.retrieve(job_id)).status != "succeeded":
            assert job.status not in ("failed", "cancelled"), job.error
            assert time.monotonic() < deadline, f"{job_id} never finished"
            time.sleep(0.05)
        models.append(str(job.fine_tuned_model))
    return models


def _deploy(clients: AzureClients, name: str, model: str) -> None:
    body = Deployment(
        sku=Sku(name="Standard", capacity=1),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=model, version="1")
        ),
    )
    clients.management.deployments.begin_create_or_update(
        clients.resource_group, clients.account, name, body
    ).result(timeout=60)


def _deployments(clients: AzureClients) -> dict[str, str]:
    listed = list_deployments(clients.management, clients.resource_group, clients.account)
    return {d.name: d.model or "" for d in listed}


def _deletes(azure: Emulator) -> list[str]:
    return sorted(str(r["path"]).rsplit("/", 1)[-1] for r in azure.requests("DELETE", "/"))


def _run(request: CleanupRequest) -> CleanupResult:
    return asyncio.run(cleanup(request))


@pytest.fixture
def resource(azure: Emulator, clients: AzureClients) -> dict[str, str]:
    """The resource described in the module docstring; names → ids and models."""
    sample = (SAMPLE / "train.jsonl").read_bytes()
    old_file = _upload(clients, "old-train.jsonl", sample)
    promoted, previous, stale = _train(clients, old_file, ["b", "a", "c"])
    for name, model in {
        "stable": promoted,
        "rollback": previous,
        "pinned": stale,
        "old-candidate": stale,
        "base": BASE_MODEL,
    }.items():
        _deploy(clients, name, model)
    variable = f"cleanup-{uuid.uuid4().hex[:8]}"
    state = {"deployment": "stable", "promoted": promoted, "previous": previous, "trained": []}
    Variable.set(variable, state, overwrite=True)
    azure.control("POST", "/clock/advance", json={"seconds": 8 * DAY})
    _deploy(clients, "young", stale)
    new_file = _upload(clients, "new-train.jsonl", sample + b"\n")
    azure.control("DELETE", "/requests")
    return {"variable": variable, "old_file": old_file, "new_file": new_file, "stale": stale}


def _request(resource: dict[str, str], **overrides: Any) -> CleanupRequest:
    values: dict[str, Any] = {
        "protect_variables": [resource["variable"]],
        "keep_deployments": ["pinned"],
    }
    values.update(overrides)
    return CleanupRequest.model_validate(values)


def test_dry_run_lists_what_would_go_and_deletes_nothing(
    azure: Emulator, clients: AzureClients, resource: dict[str, str]
) -> None:
    before = _deployments(clients)
    result = _run(_request(resource))
    assert result.dry_run
    assert result.deployments == ["old-candidate"]
    assert result.files == [resource["old_file"]]
    assert result.kept_deployments == 4  # stable, rollback, pinned, young; base not counted
    assert _deletes(azure) == []
    assert _deployments(clients) == before
    plan = asyncio.run(Artifact.aget(PLAN_KEY))
    assert plan is not None
    assert plan.data is not None
    table = str(plan.data)
    for name, why in [
        ("stable", "stable deployment of"),
        ("rollback", "rollback target of"),
        ("pinned", "kept on request"),
        ("base", "base model"),
        ("young", "within 7 days"),
        ("old-candidate", "would delete"),
    ]:
        row = next(line for line in table.splitlines() if f"| {name} |" in line)
        assert why in row, row


def test_cleanup_deletes_only_the_old_candidate_and_old_files_then_has_nothing_left(
    azure: Emulator, clients: AzureClients, resource: dict[str, str], receiver: Any
) -> None:
    result = _run(_request(resource, dry_run=False))
    assert result.deployments == ["old-candidate"]
    assert _deletes(azure) == sorted(["old-candidate", resource["old_file"]])
    left = _deployments(clients)
    assert sorted(left) == ["base", "pinned", "rollback", "stable", "young"]
    assert {f.id for f in clients.data.files.list(purpose="fine-tune")} == {resource["new_file"]}
    receiver.wait_for(
        os.environ["WEBHOOK_PATH"],
        lambda delivery: (
            "cleanup run" in delivery.payload["subject"]
            and "old-candidate" in delivery.payload["body"]
        ),
    )
    azure.control("DELETE", "/requests")
    again = _run(_request(resource, dry_run=False))
    assert (again.deployments, again.files) == ([], [])
    assert _deletes(azure) == []


def test_limit_reached_after_cleanup_is_a_warning(resource: dict[str, str]) -> None:
    result = _run(_request(resource, older_than_days=30))
    assert result.deployments == []
    assert result.kept_deployments == 5
    assert any("Azure's limit is 5" in warning for warning in result.warnings)


def test_missing_protection_variable_fails_before_reading_the_resource(
    azure: Emulator, resource: dict[str, str]
) -> None:
    with pytest.raises(StageFailed) as failed:
        _run(_request(resource, protect_variables=["no-such-pipeline"], dry_run=False))
    assert failed.value.stage == "protect"
    assert "'no-such-pipeline'" in failed.value.message
    assert azure.requests("GET", "/") == []
    assert _deletes(azure) == []
