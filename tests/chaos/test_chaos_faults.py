"""The whole ``fine-tune`` flow under a misbehaving service: refusals, dropped connections
after a create was applied, and latency, all at once.

What the flow did is read from the emulator's request log and listings, never from the flow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    FILES,
    JOBS,
    Creates,
    Emulator,
    inventory,
    request_for,
    run_to_state,
    sample_copy,
)

pytestmark = pytest.mark.chaos

_ID = r"[^/]+"
_ACCOUNT = f"/subscriptions/{_ID}/resourceGroups/{_ID}/providers/Microsoft.CognitiveServices"
DEPLOYMENT = f"{_ACCOUNT}/accounts/{_ID}/deployments/{_ID}"

ROUTES = (
    ("GET", f"/{_ID}/v2.0/.well-known/openid-configuration"),
    ("POST", f"/{_ID}/oauth2/v2.0/token"),
    ("GET", FILES),
    ("POST", FILES),
    ("GET", f"{FILES}/{_ID}"),
    ("GET", f"{FILES}/{_ID}/content"),
    ("GET", JOBS),
    ("POST", JOBS),
    ("GET", f"{JOBS}/{_ID}"),
    ("GET", f"{JOBS}/{_ID}/events"),
    ("GET", f"{JOBS}/{_ID}/checkpoints"),
    ("GET", DEPLOYMENT),
    ("PUT", DEPLOYMENT),
    (
        "GET",
        f"/subscriptions/{_ID}/providers/Microsoft.CognitiveServices/locations/{_ID}"
        f"/operationStatuses/{_ID}",
    ),
    ("POST", f"/openai/deployments/{_ID}/chat/completions"),
)
"""Every route a run uses: Entra ID, the data plane, Resource Manager and its LRO, inference."""


def _route(record: dict[str, Any]) -> tuple[str, str]:
    for method, path in ROUTES:
        if record["method"] == method and re.fullmatch(path, record["path"]):
            return method, path
    raise AssertionError(f"a route the test does not know: {record['method']} {record['path']}")


def test_flow_completes_through_refusals_drops_and_latency_with_one_of_everything(
    azure: Emulator, tmp_path: Path
) -> None:
    # Every route refuses its first request, alternately 429 and 503, and then 30% of all
    # requests: the first rule that draws a hit applies, so the 503 rule's share is of the
    # 85% the 429 rule let through.
    for index, (method, path) in enumerate(ROUTES):
        kind = ("429", "503")[index % 2]
        azure.fault(kind=kind, method=method, path=path, times=1, retry_after_ms=100)
    azure.fault(kind="429", share=0.15, retry_after_ms=100)
    azure.fault(kind="503", share=0.15 / 0.85, retry_after_ms=100)
    # Each create is carried out, then its connection cut before the client hears of it.
    azure.fault(kind="drop", method="POST", path=FILES)
    azure.fault(kind="drop", method="POST", path=JOBS)
    azure.fault(kind="latency", share=0.3, latency_ms=150)
    train, valid = sample_copy(tmp_path / "data")

    finished = run_to_state(request_for(train, valid))

    assert finished.state.is_completed(), finished.value
    assert finished.value.smoke_passed
    log = azure.log()
    refused = [r for r in log if r["fault"] in ("429", "503")]
    assert {_route(r) for r in refused} == {_route(r) for r in log} == set(ROUTES)
    assert len(refused) / len(log) >= 0.3, (len(refused), len(log))
    dropped = [(r["method"], r["path"], r["status"]) for r in log if r["fault"] == "drop"]
    assert {(method, path) for method, path, _ in dropped} == {("POST", FILES), ("POST", JOBS)}
    assert all(200 <= status < 300 for _, _, status in dropped)
    assert any(r["fault"] == "latency" for r in log)
    assert azure.creates() == Creates(uploads=2, jobs=1, deployments=1)
    azure.clear_faults()
    held = inventory(azure)
    assert sorted(f.filename.split("-")[0] for f in held.files) == ["train", "validation"]
    assert [(job.id, job.status) for job in held.jobs] == [(finished.value.job_id, "succeeded")]
    assert [(d.name, d.properties.provisioning_state) for d in held.deployments] == [
        ("support-assistant", "Succeeded")
    ]


def test_flow_completes_when_the_deployment_write_is_dropped_after_it_was_applied(
    azure: Emulator, tmp_path: Path
) -> None:
    azure.fault(kind="drop", method="PUT", path=DEPLOYMENT)
    train, valid = sample_copy(tmp_path / "data")

    finished = run_to_state(request_for(train, valid))

    assert [(r["status"], r["fault"]) for r in azure.log(method="PUT")][:1] == [(201, "drop")]
    assert finished.state.is_completed(), finished.value
    assert azure.creates() == Creates(uploads=2, jobs=1, deployments=1)
    azure.clear_faults()
    held = inventory(azure)
    assert [(d.name, d.properties.provisioning_state) for d in held.deployments] == [
        ("support-assistant", "Succeeded")
    ]
