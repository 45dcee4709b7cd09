"""The real ``fine-tune`` flow, end to end against the emulator: happy path, re-runs, failures
at each stage and resuming after them, and two runs sharing a resource. ``tests/chaos`` has
the rest: transient faults on every route, a Failed deployment replaced by the re-run, and
flow processes killed at drawn points (polling among them).

Every assertion about remote effects is read from the emulator's request log: the flow's
own word is never taken for what it did.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    REPO,
    Creates,
    Emulator,
    ManualEmulator,
    inventory,
    request_for,
    run_to_state,
    sample_copy,
    settings_env,
    task_runs_of,
)
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_RESULTS_LOCAL_STORAGE_PATH,
    temporary_settings,
)
from pydantic import SecretStr

from deployments.setup import ensure_resource_limits
from flows.fine_tune import fine_tune
from ftflow.azure.limits import training_limit_name
from ftflow.notifications import StageFailed
from ftflow.request import FineTuneRequest, FineTuneResult

FILES = "/openai/files"
JOBS = "/openai/fine_tuning/jobs"
DEPLOYMENT = "/subscriptions/"


def run(request: dict[str, Any]) -> FineTuneResult:
    return asyncio.run(fine_tune(FineTuneRequest.model_validate(request)))


def failure(request: dict[str, Any], receiver: Any) -> StageFailed:
    """The run's failure, after checking the webhook was told which stage failed and why."""
    with pytest.raises(StageFailed) as caught:
        run(request)
    failed = caught.value
    first_line = failed.message.splitlines()[0][:60]
    receiver.wait_for(
        os.environ["WEBHOOK_PATH"],
        lambda delivery: (
            f"failed at {failed.stage}" in delivery.payload["subject"]
            and first_line in delivery.payload["body"]
        ),
    )
    return failed


def creates(azure: Emulator) -> tuple[int, int, int]:
    """(files uploaded, jobs created, deployment writes) as the emulator saw them."""
    return (
        azure.count("POST", FILES),
        azure.count("POST", JOBS),
        sum(1 for r in azure.requests("PUT", DEPLOYMENT) if "/deployments/" in r["path"]),
    )


def test_fine_tune_runs_from_data_to_smoke_tested_deployment(
    azure: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    result = run(request_for(train, valid))
    assert result.fine_tuned_model.startswith("gpt-4o-mini-2024-07-18.ft-")
    assert result.deployment == "support-assistant"
    assert result.job_id.startswith("ftjob-")
    assert result.training_file_id.startswith("file-")
    assert result.validation_file_id is not None
    assert result.trained_tokens is not None
    assert result.trained_tokens > 0
    assert result.smoke_passed
    assert creates(azure) == (2, 1, 1)
    told = receiver.wait_for(os.environ["WEBHOOK_PATH"])
    assert "completed" in told.payload["subject"]
    assert result.fine_tuned_model in told.payload["body"]
    assert "support-assistant" in told.payload["body"]
    assert result.job_id in told.payload["body"]


def test_fine_tune_authenticates_both_planes_with_entra_id(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    train, valid = sample_copy(tmp_path / "data")
    result = run(request_for(train, valid))
    assert result.smoke_passed
    assert azure.count("POST", "/" + azure.env["AZURE_TENANT_ID"] + "/oauth2/v2.0/token") >= 1
    assert creates(azure) == (2, 1, 1)


def test_credentials_come_from_prefect_secret_blocks_loaded_in_the_run(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither secret in the environment: the run can only authenticate through the blocks."""
    blocks = {"AZURE_OPENAI_API_KEY": "test-openai-key", "AZURE_CLIENT_SECRET": "test-sp-secret"}
    for setting, block in blocks.items():
        Secret(value=SecretStr(os.environ[setting])).save(block, overwrite=True)
        monkeypatch.delenv(setting)
    monkeypatch.setenv("FTFLOW_SECRET_BLOCKS", json.dumps(blocks))
    train, valid = sample_copy(tmp_path / "data")
    result = run(request_for(train, valid))
    assert result.smoke_passed
    assert creates(azure) == (2, 1, 1)


def test_a_missing_secret_block_fails_at_configure_before_anything_remote(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Any
) -> None:
    monkeypatch.setenv("FTFLOW_SECRET_BLOCKS", json.dumps({"AZURE_OPENAI_API_KEY": "no-such"}))
    train, valid = sample_copy(tmp_path / "data")
    failed = failure(request_for(train, valid), receiver)
    assert failed.stage == "configure"
    assert "Secret block 'no-such' (for AZURE_OPENAI_API_KEY" in failed.message
    assert azure.requests("POST", "/") == []


def test_rerun_of_a_completed_run_comes_from_the_cache_and_creates_nothing(
    azure: Emulator, tmp_path: Path
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    request = request_for(train, valid)
    first = run(request)
    before = azure.log()[-1]["seq"]

    second = run_to_state(request)

    assert second.state.is_completed(), second.value
    assert second.value.job_id == first.job_id
    assert second.value.fine_tuned_model == first.fine_tuned_model
    # Uploading, submitting and training come back from Prefect's cache, not re-done ...
    assert _task_states(second) >= {
        ("upload-training", "Cached"),
        ("upload-validation", "Cached"),
        ("submit", "Cached"),
        ("wait", "Cached"),
    }
    # ... and the service was asked for nothing but answers (and the ARM token).
    asked = {(r["method"], r["path"]) for r in azure.log(since=before) if r["method"] != "GET"}
    assert {
        (method, path)
        for method, path in asked
        if not path.endswith("/chat/completions") and "/oauth2/" not in path
    } == set()
    assert creates(azure) == (2, 1, 1)


def _task_states(finished: Any) -> set[tuple[str, str]]:
    """(task run name without its random or job-id tail, state name) of the run's task runs;
    ``upload-<role>`` keeps its role."""
    states = set()
    for task_run in task_runs_of(finished):
        head, _, tail = task_run.name.partition("-")
        name = f"{head}-{tail}" if head == "upload" else head
        states.add((name, str(task_run.state_name)))
    return states


def test_rerun_without_the_cache_finds_everything_on_the_service(
    azure: Emulator, tmp_path: Path
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    request = request_for(train, valid)
    first = run(request)
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: tmp_path / "other"}):
        second = run(request)
    assert second.job_id == first.job_id
    assert creates(azure) == (2, 1, 1)


def test_invalid_data_fails_at_validate_before_anything_remote(
    azure: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    with train.open("a", encoding="utf-8") as handle:
        handle.write('{"messages": [{"role": "user", "content": "hi"}]}\n')
    failed = failure(request_for(train, valid), receiver)
    assert failed.stage == "validate"
    assert "no-trainable-assistant" in failed.message
    assert "train.jsonl:80" in failed.message
    assert azure.requests("POST", "/openai") == []


def test_rejected_file_fails_at_upload_is_deleted_and_a_rerun_uploads_again(
    azure: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    azure.fault("files", filename="validation-.*", message="line 3: unsupported character")
    request = request_for(train, valid)
    failed = failure(request, receiver)
    assert failed.stage == "upload"
    assert "line 3: unsupported character" in failed.message
    assert azure.count("POST", JOBS) == 0
    assert azure.count("DELETE", FILES + "/file-") == 1
    result = run(request)
    assert result.smoke_passed
    assert creates(azure) == (3, 1, 1)


def test_failed_job_fails_at_wait_and_a_rerun_trains_again(
    azure: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    request = request_for(train, valid)
    azure.fault("jobs", kind="internal_error")
    failed = failure(request, receiver)
    assert failed.stage == "wait"
    assert failed.progress["job_id"].startswith("ftjob-")
    assert "failed" in failed.message
    result = run(request)
    assert result.job_id != failed.progress["job_id"]
    assert creates(azure) == (2, 2, 1)


def test_resume_after_a_smoke_test_failure_reuses_files_job_and_deployment(
    azure: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    impossible = [{"name": "impossible", "prompt": "Hello?", "contains": ["zebra-xylophone"]}]
    failed = failure(request_for(train, valid, smoke_prompts=impossible), receiver)
    assert failed.stage == "smoke_test"
    result = run(request_for(train, valid))
    assert result.smoke_passed
    assert result.job_id == failed.progress["job_id"]
    assert creates(azure) == (2, 1, 1)


def test_failing_smoke_check_fails_the_run_at_smoke_test(
    azure: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    prompts = [{"name": "impossible", "prompt": "Hello?", "contains": ["zebra-xylophone-42"]}]
    failed = failure(request_for(train, valid, smoke_prompts=prompts), receiver)
    assert failed.stage == "smoke_test"
    assert "zebra-xylophone-42" in failed.message
    assert failed.progress["deployment"] == "support-assistant"


_RUN_IN_CHILD = """
import asyncio, sys
from deployments.setup import ensure_resource_limits
from flows.fine_tune import fine_tune
from ftflow.request import FineTuneRequest
asyncio.run(fine_tune(FineTuneRequest.model_validate_json(sys.argv[1])))
"""


def _start_child(
    request: dict[str, Any], storage: Path, stderr: Path | None = None
) -> subprocess.Popen[bytes]:
    """The flow run with ``request`` in a process of its own, on this test's Prefect server.

    With ``stderr``, the process writes its log there, Prefect's debug log of its concurrency
    slots included (`_refused_the_slot` reads it)."""
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(storage),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    }
    if stderr is not None:
        env["PREFECT_INTERNAL_LOGGING_LEVEL"] = "DEBUG"
    log = stderr.open("wb") if stderr is not None else None
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _RUN_IN_CHILD, json.dumps(request)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if log is None else log,
        )
    finally:
        if log is not None:
            log.close()


def _refused_the_slot(stderr: Path, limit: str) -> bool:
    """Whether the Prefect server refused the process writing ``stderr`` a slot of ``limit``
    (HTTP 423: Prefect's client logs it, then waits and asks again)."""
    return any(
        "Unable to acquire concurrency slot" in line and repr([limit]) in line
        for line in stderr.read_text(errors="replace").splitlines()
    )


def test_concurrent_runs_on_one_resource_train_one_after_another(
    prefect_backend: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two flow processes started together with the same data: one upload per content, and
    the second job is created only after the first ended (the limits `setup` creates).

    The emulator's clock is manual and stands still from the first job's creation, so that
    job cannot end: a run the training limit did not hold back would create its job then.
    The test waits until Prefect refuses the other run the slot, sees that it created
    nothing, and only then lets time run."""
    emulator = ManualEmulator(tmp_path / "emulator")
    account = emulator.env["AZURE_OPENAI_ACCOUNT"]
    training = training_limit_name(account)
    children: list[subprocess.Popen[bytes]] = []
    limits: list[str] = []
    try:
        limits = ensure_resource_limits(account)
        for name, value in settings_env(emulator.env).items():
            monkeypatch.setenv(name, value)
        train, valid = sample_copy(tmp_path / "data")
        logs = [tmp_path / f"{suffix}.stderr" for suffix in ("first", "second")]
        for suffix, log in zip(("first", "second"), logs, strict=True):
            request = request_for(
                train, valid, suffix=suffix, deployment_name=f"assistant-{suffix}"
            )
            children.append(_start_child(request, tmp_path / "results", stderr=log))

        def alive() -> bool:
            return all(child.poll() is None for child in children)

        def jobs_created() -> int:
            return len(emulator.requests("POST", JOBS))

        # Time moves until a job exists (the files get processed), then stands still: that
        # job cannot end until the test lets time run again.
        emulator.drive_until(lambda: jobs_created() > 0, "job", seconds=5.0, alive=alive)
        # No run may now create a job unless it skipped the limit: wait for the refusal.
        emulator.drive_until(
            lambda: jobs_created() > 1 or any(_refused_the_slot(log, training) for log in logs),
            "refusal of the training slot",
            seconds=0,
            every=0.2,
            alive=alive,
        )
        assert jobs_created() == 1, "the second run created its job while the first trained"
        [first_job] = inventory(emulator).jobs
        assert first_job.status not in ("succeeded", "failed", "cancelled"), "it had ended"
        with emulator.ticking():
            for child in children:
                assert child.wait(timeout=300) == 0, "a concurrent run failed"
        with get_client(sync_client=True) as client:
            held = [client.read_global_concurrency_limit_by_name(n).active_slots for n in limits]
        assert held == [0, 0], "a run kept its slot after it ended"
        assert emulator.creates() == Creates(uploads=2, jobs=2, deployments=2)
        created = sorted(emulator.requests("POST", JOBS), key=lambda record: record["seq"])
        assert [record["status"] for record in created] == [201, 201]
        jobs = sorted(inventory(emulator).jobs, key=lambda job: job.created_at)
        assert [job.status for job in jobs] == ["succeeded", "succeeded"]
        assert jobs[0].finished_at is not None
        assert created[1]["sim_time"] >= jobs[0].finished_at, "two jobs trained at once"
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        with get_client(sync_client=True) as client:
            for name in limits:
                client.delete_global_concurrency_limit_by_name(name)
        emulator.stop()
