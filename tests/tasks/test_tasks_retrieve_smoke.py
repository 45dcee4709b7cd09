"""The ``retrieve_results`` and ``smoke_test`` tasks in real flow runs on a Prefect test server,
against a job and deployments on the emulator; artifacts read back through the Prefect API."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    TOPICS,
    Harness,
    cooking,
    geography,
    inprocess_harness,
)
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import State

from ftflow.request import SmokePrompt
from ftflow.smoke import SmokeTestFailed
from tasks.retrieve import CURVES_KEY, METRICS_KEY, retrieve_results
from tasks.smoke_test import SMOKE_KEY, smoke_test

pytestmark = pytest.mark.usefixtures("prefect_backend")

GLACIER = SmokePrompt(name="glacier", prompt="What is a glacier?", contains=["2 m per day"])


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An in-process emulator on the manual clock, for this module."""
    with inprocess_harness(tmp_path_factory.mktemp("emulator") / "data") as harness:
        yield harness


@pytest.fixture(scope="module")
def job(emu: Harness) -> Any:
    """A finished two-epoch job, deployed as ``ft``, with the base model deployed as ``base``."""
    validation = emu.upload(emu.v1(), cooking(), "valid.jsonl")
    done = emu.train(
        emu.v1(),
        geography(),
        validation_file=validation.id,
        hyperparameters={"n_epochs": 2, "batch_size": 1},
    )
    assert done.status == "succeeded", done.error
    emu.deploy("ft", done.fine_tuned_model)
    emu.deploy("base", "gpt-4o-mini", "2024-07-18")
    return done


def _artifact(state: State[Any], key: str) -> Any:
    """The artifact with ``key`` that the flow run of ``state`` created."""
    flow_run_id: UUID | None = state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
        )
    assert len(found) == 1, found
    return found[0]


def test_retrieve_results_publishes_metrics_table_and_curves(
    emu: Harness, job: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = emu.v1()
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o-mini-2024-07-18": 3.0}))
    monkeypatch.setenv("FTFLOW_PRICES_FILE", str(prices))

    @flow(name="retrieve-results-test")
    def retrieve() -> dict[str, Any]:
        return retrieve_results(job.id, client, "gpt-4o-mini-2024-07-18")

    state = retrieve(return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert json.loads(json.dumps(result)) == result  # plain JSON, nothing from openai
    assert result["job_id"] == job.id
    assert result["fine_tuned_model"] == job.fine_tuned_model
    assert result["trained_tokens"] == job.trained_tokens
    assert result["estimated_usd"] == pytest.approx(job.trained_tokens * 3.0 / 1e6)
    assert [c["step"] for c in result["checkpoints"]] == [24, 12]

    table = _artifact(state, METRICS_KEY)
    assert table.type == "table"
    rows = json.loads(table.data)
    assert [row["step"] for row in rows] == list(range(1, 25))  # 12 examples × 2 epochs
    assert rows[-1]["train_loss"] == result["final_metrics"]["train_loss"]

    curves = _artifact(state, CURVES_KEY)
    assert curves.type == "markdown"
    markdown = curves.data
    match = re.search(
        r"!\[loss and accuracy\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown
    )
    assert match is not None, markdown[:300]
    svg = ET.fromstring(base64.b64decode(match.group(1)))  # noqa: S314 (our own output)
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}polyline"))) >= 2
    assert f"| Fine-tuned model | `{job.fine_tuned_model}` |" in markdown
    assert f"| Trained tokens | {job.trained_tokens:,} |" in markdown
    cost = f"~${job.trained_tokens * 3.0 / 1e6:.4g} (estimate: trained tokens × $3.00 per 1M"
    assert f"| Estimated cost | {cost}; not a bill) |" in markdown
    best = f"{result['best_valid_loss']:.4g} (step {result['best_valid_step']})"
    assert f"| Best validation loss | {best} |" in markdown
    assert result["best_valid_step"] in (12, 24)  # epoch ends: full validation loss
    assert f"`{job.fine_tuned_model}:ckpt-step-12` (step 12)" in markdown


def test_retrieve_results_retries_transient_errors_only(emu: Harness, job: Any) -> None:
    client = emu.v1()
    path = f"/openai/v1/fine_tuning/jobs/{job.id}"
    emu.control("DELETE", "/requests")
    emu.fault(method="GET", path=path, kind="503", times=1, retry_after_ms=100)
    quick = retrieve_results.with_options(retry_delay_seconds=0)

    @flow(name="retrieve-results-retried")
    def retried() -> dict[str, Any]:
        return quick(job.id, client)

    state = retried(return_state=True)
    assert state.is_completed(), state.message
    assert [r["status"] for r in emu.requests(method="GET", path=path)] == [503, 200]

    @flow(name="retrieve-results-unknown-job")
    def unknown() -> dict[str, Any]:
        return quick("ftjob-unknown", client)

    state = unknown(return_state=True)
    assert state.is_failed()
    assert state.message is not None
    assert "NotFound: retrieving fine-tuning job ftjob-unknown:" in state.message
    unknown_path = "/openai/v1/fine_tuning/jobs/ftjob-unknown"
    assert [r["status"] for r in emu.requests(method="GET", path=unknown_path)] == [404]


def test_smoke_test_publishes_answers_side_by_side(emu: Harness, job: Any) -> None:
    client = emu.v1()

    @flow(name="smoke-test-test")
    def smoke() -> dict[str, Any]:
        return smoke_test("ft", [GLACIER], "base", True, client, timeout=30)

    state = smoke(return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["passed"] is True
    assert result["verdict"] == "passed (1/1 prompts)"
    assert json.loads(json.dumps(result)) == result
    artifact = _artifact(state, SMOKE_KEY)
    assert artifact.type == "table"
    (row,) = json.loads(artifact.data)
    assert row["prompt"] == "glacier"
    assert row["fine-tuned answer"] == dict(TOPICS)["glacier"]
    assert row["base answer"]
    assert row["base answer"] != row["fine-tuned answer"]
    assert row["checks"] == "✓ non-empty; ✓ contains '2 m per day'"
    assert row["base checks"] == "1/2 passed"
    assert row["verdict"] == "pass"


def test_smoke_test__failed_check_fails_the_flow_run(emu: Harness, job: Any) -> None:
    client = emu.v1()
    volcano = GLACIER.model_copy(update={"name": "lava", "contains": ["lava"]})

    @flow(name="smoke-test-failing")
    def smoke() -> dict[str, Any]:
        return smoke_test("ft", [GLACIER, volcano], None, True, client, 30)

    state = smoke(return_state=True)
    assert state.is_failed()
    assert state.message is not None
    assert (
        "SmokeTestFailed: smoke test of deployment 'ft' failed 1 of 2 prompts: "
        "lava: contains 'lava': not in the answer"
    ) in state.message
    with pytest.raises(SmokeTestFailed) as caught:
        state.result()
    assert caught.value.failures == ("lava: contains 'lava': not in the answer",)
    rows = json.loads(_artifact(state, SMOKE_KEY).data)
    assert [row["verdict"] for row in rows] == ["pass", "FAIL"]


def test_smoke_test__failed_check_without_fail_on_failure_reports(emu: Harness, job: Any) -> None:
    client = emu.v1()

    @flow(name="smoke-test-lenient")
    def smoke() -> dict[str, Any]:
        return smoke_test("missing", [GLACIER], None, False, client)

    state = smoke(return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["passed"] is False
    assert result["verdict"] == "FAILED (0/1 prompts passed)"
    assert "DeploymentNotFound" in result["prompts"][0]["answer"]["error"]
