"""Fault injection and the request log, seen through the real clients' retry behaviour."""

from __future__ import annotations

import time

import openai
import pytest
from azure.core.exceptions import AzureError
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    Harness,
    error_of,
    geography,
)

JOBS = "/openai/fine_tuning/jobs"


def _training(emu: Harness) -> str:
    uploaded = emu.upload(emu.azure(), geography())
    assert uploaded.status == "processed"
    return str(uploaded.id)


def test_injected_429_carries_retry_after_and_is_retried_by_the_sdk(emu: Harness) -> None:
    emu.fault(method="GET", path="/openai/files", kind="429", times=1, retry_after_ms=100)
    raw = emu.azure(max_retries=2).files.with_raw_response.list()
    assert raw.status_code == 200
    logged = emu.requests(method="GET", path="/openai/files")
    assert [(r["status"], r["fault"]) for r in logged] == [(429, "429"), (200, None)]


def test_injected_429_body_and_headers(emu: Harness) -> None:
    emu.fault(method="GET", path="/openai/files", kind="429", times=1, retry_after_ms=2500)
    response = emu.http(headers={"api-key": emu.key}).get(
        "/openai/files", params={"api-version": "2024-10-21"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "2500"
    assert response.json()["error"]["code"] == "429"
    assert response.json()["error"]["message"].endswith("Please retry after 2 seconds.")


def test_injected_500_surfaces_when_retries_are_off(emu: Harness) -> None:
    emu.fault(method="POST", path=JOBS, kind="500")
    training = _training(emu)
    with pytest.raises(openai.InternalServerError) as raised:
        emu.azure().fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    assert error_of(raised.value)["code"] == "internalFailure"
    assert "retry-after" not in raised.value.response.headers
    assert emu.azure().fine_tuning.jobs.list().data == []


def test_injected_503_on_arm_is_retried_by_azure_core(emu: Harness) -> None:
    emu.deploy("base", "gpt-4o-mini", "2024-07-18")
    emu.fault(method="GET", path=".*/deployments/base", kind="503", times=1, retry_after_ms=100)
    assert emu.arm().deployments.get(emu.group, emu.account, "base").name == "base"
    statuses = [
        r["status"]
        for r in emu.requests(method="GET", path_prefix="/subscriptions/")
        if r["path"].endswith("/base")
    ]
    assert statuses[-2:] == [503, 200]


def test_share_of_requests_hit_is_partial_and_repeatable(emu: Harness) -> None:
    emu.fault(method="GET", path="/openai/files", kind="503", share=0.5)
    http = emu.http(headers={"api-key": emu.key})
    statuses = [
        http.get("/openai/files", params={"api-version": "2024-10-21"}).status_code
        for _ in range(40)
    ]
    assert 5 < statuses.count(503) < 35
    assert set(statuses) == {200, 503}


def test_dropped_connection_after_apply_makes_a_retried_create_duplicate(emu: Harness) -> None:
    training = _training(emu)
    emu.fault(method="POST", path=JOBS, kind="drop", times=1)
    job = emu.azure(max_retries=1).fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    posts = emu.requests(method="POST", path=JOBS)
    assert [(r["status"], r["fault"]) for r in posts] == [(201, "drop"), (201, None)]
    jobs = emu.azure().fine_tuning.jobs.list().data
    assert len(jobs) == 2
    assert job.id == jobs[0].id


def test_dropped_connection_without_retry_is_a_connection_error_but_applied(emu: Harness) -> None:
    training = _training(emu)
    emu.fault(method="POST", path=JOBS, kind="drop", times=1)
    with pytest.raises(openai.APIConnectionError):
        emu.azure(max_retries=0).fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    assert len(emu.azure().fine_tuning.jobs.list().data) == 1
    assert len(emu.requests(method="POST", path=JOBS)) == 1


def test_dropped_connection_on_arm_put_is_applied(emu: Harness) -> None:
    from azure.mgmt.cognitiveservices.models import (
        Deployment,
        DeploymentModel,
        DeploymentProperties,
        Sku,
    )

    emu.fault(method="PUT", path=".*/deployments/cut", kind="drop", times=1)
    body = Deployment(
        sku=Sku(name="Standard", capacity=1),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name="gpt-4o-mini", version="2024-07-18")
        ),
    )
    with pytest.raises(AzureError):
        emu.arm(retry_total=0).deployments.begin_create_or_update(
            emu.group, emu.account, "cut", body
        )
    assert (
        emu.arm().deployments.get(emu.group, emu.account, "cut").properties.provisioning_state
        == "Creating"
    )


def test_latency_is_added(emu: Harness) -> None:
    emu.fault(method="GET", path="/openai/files", kind="latency", latency_ms=300)
    started = time.monotonic()
    emu.azure().files.list()
    assert time.monotonic() - started >= 0.3
    assert emu.requests(path="/openai/files")[-1]["fault"] == "latency"


def test_request_log_counts_exactly_one_post(emu: Harness) -> None:
    training = _training(emu)
    client = emu.azure()
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    client.fine_tuning.jobs.retrieve(job.id)
    posts = emu.requests(method="POST", path=JOBS)
    assert len(posts) == 1
    assert posts[0]["status"] == 201
    assert posts[0]["query"] == "api-version=2025-04-01-preview"
    assert set(posts[0]) == {
        "seq",
        "method",
        "path",
        "query",
        "status",
        "time",
        "sim_time",
        "duration_ms",
        "fault",
    }
    assert [r["method"] for r in emu.requests(path_prefix=f"{JOBS}/")] == ["GET"]


def test_fault_rules_are_listed_removed_and_cleared_by_reset(emu: Harness) -> None:
    rule = emu.fault(method="GET", path="/openai/files", kind="503")
    emu.fault("jobs", kind="internal_error")
    listed = emu.control("GET", "/faults").json()
    assert [r["id"] for r in listed["http"]] == [rule["id"]]
    assert listed["jobs"][0]["kind"] == "internal_error"
    emu.control("DELETE", f"/faults/{rule['id']}")
    assert emu.control("GET", "/faults").json()["http"] == []
    emu.reset()
    assert emu.control("GET", "/faults").json() == {
        "http": [],
        "jobs": [],
        "deployments": [],
        "files": [],
    }


def test_bad_fault_rule_is_rejected(emu: Harness) -> None:
    response = emu.http(headers={"api-key": emu.key}).post(
        "/_emulator/faults", json={"kind": "418", "path": "/x"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalidRequest"


def test_reset_empties_the_resource(emu: Harness) -> None:
    client = emu.azure()
    emu.train(client, geography(), hyperparameters={"n_epochs": 1})
    assert emu.requests(method="POST")
    emu.reset()
    assert emu.requests() == []
    assert client.files.list().data == []
    assert client.fine_tuning.jobs.list().data == []


def test_settings_changes_are_validated(emu: Harness) -> None:
    http = emu.http(headers={"api-key": emu.key})
    bad = http.patch("/_emulator/settings", json={"limits": {"max_files": "many"}})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "setting limits.max_files must be a int, got 'many'"
    assert emu.settings(limits={"max_files": 3})["limits"]["max_files"] == 3
