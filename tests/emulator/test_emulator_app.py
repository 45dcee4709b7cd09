"""The app factory in-process (no socket, no TLS) and the declared lifecycles behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import openai
import pytest
from emulator_harness import BASE_MODEL, geography  # type: ignore[import-not-found, unused-ignore]

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.core.lifecycle import IllegalTransition
from emulator.deployments.state import DEPLOYMENT_LIFECYCLE
from emulator.files.state import FILE_LIFECYCLE
from emulator.fine_tuning.tables import JOB_LIFECYCLE


def test_app_factory_serves_the_real_client_in_process(tmp_path: Path) -> None:
    app = create_app(EmulatorConfig(data_dir=tmp_path, clock="manual"))
    key = app.state.backend.api_key

    async def scenario() -> tuple[str, str]:
        transport = httpx2.ASGITransport(app=app)
        async with (
            openai.AsyncAzureOpenAI(
                azure_endpoint="https://emulator.invalid",
                api_key=key,
                api_version="2025-04-01-preview",
                http_client=openai.DefaultAsyncHttpxClient(transport=transport),
            ) as client,
            httpx2.AsyncClient(transport=transport, base_url="https://emulator.invalid") as http,
        ):
            uploaded = await client.files.create(file=("t.jsonl", geography()), purpose="fine-tune")
            await http.post(
                "/_emulator/clock/advance", json={"seconds": 60}, headers={"api-key": key}
            )
            job = await client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=uploaded.id)
            await http.post(
                "/_emulator/clock/advance", json={"seconds": 86400}, headers={"api-key": key}
            )
            done = await client.fine_tuning.jobs.retrieve(job.id)
            return str(done.status), str(done.fine_tuned_model)

    status, model = asyncio.run(scenario())
    app.state.backend.close()
    assert status == "succeeded"
    assert model.startswith(f"{BASE_MODEL}.ft-")


def test_lifecycles_are_declared() -> None:
    assert JOB_LIFECYCLE.terminal == {"succeeded", "failed", "cancelled"}
    assert JOB_LIFECYCLE.can("running", "paused")
    assert FILE_LIFECYCLE.terminal == {"processed", "error"}
    assert DEPLOYMENT_LIFECYCLE.can("Creating", "Failed")
    with pytest.raises(IllegalTransition):
        JOB_LIFECYCLE.check("succeeded", "running")
    with pytest.raises(IllegalTransition):
        FILE_LIFECYCLE.check("error", "processed")
    with pytest.raises(IllegalTransition):
        DEPLOYMENT_LIFECYCLE.check("Failed", "Succeeded")


def test_scaled_clock_moves_jobs_without_advancing(tmp_path: Path) -> None:
    import time

    from emulator_harness import Harness, InProcessServer  # type: ignore[import-not-found, unused-ignore]

    harness = Harness(InProcessServer(tmp_path / "data", clock="scaled", speed=50_000.0))
    try:
        client = harness.azure()
        uploaded = client.files.create(file=("t.jsonl", geography()), purpose="fine-tune")
        assert (
            client.files.wait_for_processing(uploaded.id, poll_interval=0.05).status == "processed"
        )
        job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=uploaded.id)
        deadline = time.monotonic() + 20
        while (job := client.fine_tuning.jobs.retrieve(job.id)).status != "succeeded":
            assert time.monotonic() < deadline, job.status
            time.sleep(0.05)
        assert job.finished_at - job.created_at > 600
        assert harness.control("GET", "/clock").json()["mode"] == "scaled"
    finally:
        harness.close()
        harness.server.stop()
