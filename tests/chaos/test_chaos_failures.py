"""Work that fails on Azure's side: a fine-tuning job that fails, a deployment that ends
Failed. The run must end Failed, tell which step failed in the service's own words, and leave
nothing a re-run trips over: once the fault is gone, a re-run completes with exactly one
successful job and one successful deployment.

``tests/flows`` checks a job failing halfway through training; this adds the Prefect state,
the service's message in the notification, a job failing Azure's data safety check, and what
the service holds after the re-run (a Failed deployment is deleted once and written again).
A flow process killed while polling is among the schedules of ``_chaos_kills``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    ARM,
    Creates,
    Emulator,
    Finished,
    flow_run_of,
    inventory,
    request_for,
    run_to_state,
    sample_copy,
)

from ftflow.notifications import StageFailed

pytestmark = pytest.mark.chaos

DEPLOYMENT = "support-assistant"
CAPACITY = "Insufficient Standard capacity for gpt-4o-mini in swedencentral (chaos suite)."
"""What the failing deployment's operation says, in the service's words."""


def _failed_at(finished: Finished, stage: str) -> StageFailed:
    assert finished.state.is_failed(), finished.state
    failure = finished.value
    assert isinstance(failure, StageFailed), failure
    assert failure.stage == stage, failure
    return failure


def _told_of_failure(receiver: Any, finished: Finished, stage: str, says: str) -> dict[str, str]:
    """The notification of the ``finished`` run (at this test's path, ``WEBHOOK_PATH``): it
    names ``stage`` and quotes ``says``, the service's message."""
    subject = f"fine-tune run {flow_run_of(finished).name} failed at {stage}"
    path = os.environ["WEBHOOK_PATH"]
    delivery = receiver.wait_for(path, lambda d: subject in d.payload["subject"])
    payload: dict[str, str] = delivery.payload
    assert f"- Failed step: {stage}" in payload["body"]
    assert says in payload["body"], payload["body"]
    return payload


def test_job_failing_on_azure_fails_the_run_in_its_words_and_a_rerun_trains_once(
    azure: Emulator, receiver: Any, tmp_path: Path
) -> None:
    # The job fails Azure's data safety check during preprocessing (``tests/flows`` has a
    # job failing with an internal error halfway through training).
    azure.fault("jobs", kind="data_safety")
    train, valid = sample_copy(tmp_path / "data")
    request = request_for(train, valid)

    failed = run_to_state(request)

    failure = _failed_at(failed, "wait")
    (job,) = inventory(azure).jobs
    assert job.status == "failed"
    says = job.error.message
    assert says in failure.message
    told = _told_of_failure(receiver, failed, "wait", says)
    assert job.id in told["body"]

    azure.clear_faults()
    again = run_to_state(request)
    assert again.state.is_completed(), again.value
    assert azure.creates() == Creates(uploads=2, jobs=2, deployments=1)
    jobs = {j.id: j.status for j in inventory(azure).jobs}
    assert jobs == {job.id: "failed", again.value.job_id: "succeeded"}


def test_deployment_failing_on_azure_fails_the_run_in_its_words_and_a_rerun_deploys_once(
    azure: Emulator, receiver: Any, tmp_path: Path
) -> None:
    azure.fault("deployments", name=DEPLOYMENT, message=CAPACITY)
    train, valid = sample_copy(tmp_path / "data")
    request = request_for(train, valid)

    failed = run_to_state(request)

    assert CAPACITY in _failed_at(failed, "deploy").message
    _told_of_failure(receiver, failed, "deploy", CAPACITY)
    assert azure.creates() == Creates(uploads=2, jobs=1, deployments=1)

    azure.clear_faults()
    again = run_to_state(request)
    assert again.state.is_completed(), again.value
    held = inventory(azure)
    deployments = [
        (d.name, d.properties.provisioning_state, d.properties.model.name) for d in held.deployments
    ]
    assert deployments == [(DEPLOYMENT, "Succeeded", again.value.fine_tuned_model)]
    # The re-run deleted the Failed deployment once and wrote it again; nothing else was redone.
    assert azure.creates() == Creates(uploads=2, jobs=1, deployments=2)
    deleted = [r for r in azure.applied("DELETE", ARM) if "/deployments/" in str(r["path"])]
    assert len(deleted) == 1
