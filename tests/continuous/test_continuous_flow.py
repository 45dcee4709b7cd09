"""The real ``continuous-fine-tune`` and ``rollback`` flows against the emulator.

Three runs on a growing data directory: the first data gives model A, promoted; new data gives
model B, trained from A and promoted over it; data that makes things worse gives a candidate
that is rejected, with B still served and a notification sent. Then a run with nothing new,
and a rollback from the command line.

Remote effects are read from the emulator (its request log, the jobs on the data plane, the
deployments through Resource Manager) and the state from the Prefect Variable: the flow's
own word is never taken for what it did.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from _continuous_data import (  # type: ignore[import-not-found, unused-ignore]
    WRONG,
    bad_batch,
    batch,
    eval_set,
)
from azure.core.exceptions import ResourceNotFoundError
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    REPO,
    Emulator,
)
from prefect.artifacts import Artifact
from prefect.settings import (
    PREFECT_API_URL,
)
from prefect.variables import Variable

from flows.continuous import continuous_fine_tune
from ftflow.azure.clients import AzureClients
from ftflow.continuous import ContinuousRequest, ContinuousResult, ContinuousState
from tasks.continuous import LINEAGE_KEY

FTFLOW = Path(sys.executable).parent / "ftflow"
STABLE = "support"
CANDIDATE = "support-candidate"
FILES = "/openai/files"
JOBS = "/openai/fine_tuning/jobs"


def parameters(tmp_path: Path) -> dict[str, Any]:
    return {
        "data_location": str(tmp_path / "data"),
        "eval_file": str(eval_set(tmp_path / "eval" / "eval.jsonl")),
        "base_model": BASE_MODEL,
        "deployment_name": STABLE,
        "metric": "token_f1",
        "margin": 0.1,
        "variable": f"continuous-test-{uuid.uuid4().hex[:8]}",
        "n_epochs": 1,
        "poll_interval_max_seconds": 0.5,
        "job_timeout_minutes": 5,
        "deploy_timeout_minutes": 2,
    }


def run(params: dict[str, Any]) -> ContinuousResult:
    return asyncio.run(continuous_fine_tune(ContinuousRequest.model_validate(params)))


def state(params: dict[str, Any]) -> ContinuousState:
    return ContinuousState.from_variable(Variable.get(params["variable"]))


def served(clients: AzureClients, name: str) -> str | None:
    """The model deployment ``name`` serves, read through Resource Manager."""
    try:
        found = clients.management.deployments.get(clients.resource_group, clients.account, name)
    except ResourceNotFoundError:
        return None
    assert found.properties is not None
    assert found.properties.provisioning_state == "Succeeded"
    assert found.properties.model is not None
    return found.properties.model.name


def trained_from(clients: AzureClients, job_id: str | None) -> str:
    """The model a job was created from, read from the service."""
    assert job_id is not None
    return clients.data.fine_tuning.jobs.retrieve(job_id).model


def creates(azure: Emulator) -> tuple[int, int]:
    """(files uploaded, jobs created) as the emulator saw them."""
    return azure.count("POST", FILES), azure.count("POST", JOBS)


def told(receiver: Any, *texts: str) -> Any:
    """The notification at this test's path whose subject and body hold every text."""

    def matches(delivery: Any) -> bool:
        message = delivery.payload["subject"] + "\n" + delivery.payload["body"]
        return all(text in message for text in texts)

    return receiver.wait_for(os.environ["WEBHOOK_PATH"], matches)


def promote_a_then_b(
    tmp_path: Path, clients: AzureClients, azure: Emulator, after_a: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str, str]:
    """Runs 1 and 2: batch 1 gives A, promoted; batch 2 gives B, trained from A, promoted.

    ``after_a``, when given, receives the Variable's value as run 1 left it.
    """
    after_a = {} if after_a is None else after_a
    params = parameters(tmp_path)
    batch(tmp_path / "data" / "batch-1.jsonl", range(5))
    first = run(params)
    assert first.outcome == "promoted", first.message
    model_a = str(first.promoted_model)
    assert served(clients, STABLE) == model_a
    assert trained_from(clients, first.job_id) == BASE_MODEL
    assert creates(azure) == (1, 1)
    value = Variable.get(params["variable"])
    assert isinstance(value, dict)
    after_a.update(value)

    batch(tmp_path / "data" / "2026" / "batch-2.jsonl", range(5, 10))
    second = run(params)
    assert second.outcome == "promoted", second.message
    model_b = str(second.promoted_model)
    assert model_b != model_a
    assert served(clients, STABLE) == model_b
    assert trained_from(clients, second.job_id) == model_a
    assert second.candidate_score == pytest.approx(1.0)
    assert second.baseline_score is not None
    assert second.baseline_score < 0.7
    assert creates(azure) == (2, 2)
    return params, model_a, model_b


def test_new_data_promotes_a_then_b_and_a_worse_candidate_is_rejected(
    azure: Emulator, clients: AzureClients, tmp_path: Path, receiver: Any
) -> None:
    params, model_a, model_b = promote_a_then_b(tmp_path, clients, azure)
    told(receiver, "promoted", model_b, "token_f1 1.0000")
    recorded = state(params)
    assert recorded.promotions() == [model_a, model_b]
    assert (recorded.promoted, recorded.previous) == (model_b, model_a)
    assert served(clients, CANDIDATE) is None

    bad_batch(tmp_path / "data" / "batch-3.jsonl")
    third = run(params)
    assert third.outcome == "rejected", third.message
    assert served(clients, STABLE) == model_b
    assert served(clients, CANDIDATE) is None
    assert trained_from(clients, third.job_id) == model_b
    assert third.candidate_score is not None
    assert third.baseline_score == pytest.approx(1.0)
    assert third.candidate_score < 0.3
    after = state(params)
    assert after.promotions() == [model_a, model_b]
    assert (after.promoted, after.previous) == (model_b, model_a)
    assert [(e.event, e.model) for e in after.lineage] == [
        ("promoted", model_a),
        ("promoted", model_b),
        ("rejected", third.candidate_model),
    ]
    assert [e.trained_from for e in after.lineage] == [BASE_MODEL, model_a, model_b]
    assert [e.job for e in after.lineage][:2] == [
        e.job for e in recorded.lineage
    ]  # lineage of A and B unchanged
    assert len(after.trained) == 3
    lineage = asyncio.run(Artifact.aget(LINEAGE_KEY))
    assert lineage is not None
    assert lineage.flow_run_id is not None
    rows = json.loads(str(lineage.data))
    assert [(r["event"], r["model"]) for r in rows] == [
        ("promoted", model_a),
        ("promoted (serving)", model_b),
        ("rejected", third.candidate_model),
    ]
    assert rows[-1]["deployment"] == CANDIDATE
    assert rows[1]["trained from"] == model_a
    rejection = told(receiver, "rejected", str(third.candidate_model), f"still serves {model_b}")
    assert "token_f1" in rejection.payload["body"]
    assert WRONG not in rejection.payload["subject"]

    last_seen = azure.log()[-1]["seq"]
    fourth = run(params)
    assert fourth.outcome == "nothing_new"
    assert "3 files, all trained on" in fourth.message
    assert azure.log(since=last_seen) == []  # a no-op asks the service nothing
    assert state(params) == after


def test_a_promotion_done_but_not_recorded_is_recorded_by_the_rerun(
    azure: Emulator, clients: AzureClients, tmp_path: Path
) -> None:
    after_a: dict[str, Any] = {}
    params, model_a, model_b = promote_a_then_b(tmp_path, clients, azure, after_a)
    # Run 2 promoted B, then "stopped" before writing the state: the Variable says A.
    Variable.set(params["variable"], after_a, overwrite=True)
    writes = azure.count("PUT", "/subscriptions/")
    again = run(params)
    assert again.outcome == "promoted", again.message
    assert again.promoted_model == model_b
    assert "already serves" in again.message
    assert creates(azure) == (2, 2)
    assert azure.count("PUT", "/subscriptions/") == writes + 1  # the candidate slot, only
    assert served(clients, STABLE) == model_b
    assert served(clients, CANDIDATE) is None
    recorded = state(params)
    assert recorded.promotions() == [model_a, model_b]
    assert (recorded.promoted, recorded.previous) == (model_b, model_a)


def rollback_cli(params: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(tmp_path / "cli-results"),
    }
    return subprocess.run(
        [str(FTFLOW), "rollback", "--variable", params["variable"]],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_rollback_command_restores_the_previous_model_once(
    azure: Emulator, clients: AzureClients, tmp_path: Path, receiver: Any
) -> None:
    params, model_a, model_b = promote_a_then_b(tmp_path, clients, azure)
    done = rollback_cli(params, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{STABLE} serves {model_a} again instead of {model_b}\n"
    assert served(clients, STABLE) == model_a
    after = state(params)
    assert (after.promoted, after.previous) == (model_a, None)
    assert (after.lineage[-1].event, after.lineage[-1].replaced) == ("rolled_back", model_b)
    told(receiver, f"{STABLE} serves {model_a} again")

    writes = azure.count("PUT", "/subscriptions/")
    again = rollback_cli(params, tmp_path)
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1] == (
        "error: rollback failed at state: no previous model recorded: nothing was promoted "
        "over another model yet, or it was already rolled back"
    )
    assert azure.count("PUT", "/subscriptions/") == writes
    assert served(clients, STABLE) == model_a


def test_rollback_command_refuses_a_bad_variable_name() -> None:
    done = subprocess.run(
        [str(FTFLOW), "rollback", "--variable", "Not Valid"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr == "error: --variable 'Not Valid': String should match pattern "
        "'^[a-z0-9_-]{1,255}$'\n"
    )
    assert done.stdout == ""
