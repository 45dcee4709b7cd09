"""No secret ever leaves: a whole pipeline run (and a failing one) with recognisable fake
credentials, then every log line, artifact, notification payload, exception text, flow
parameter and result is searched for them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    Emulator,
    request_for,
    sample_copy,
    settings_env,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import State
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

from deployments.notifications import ensure_webhook_block
from flows.fine_tune import fine_tune
from ftflow.notifications import StageFailed
from ftflow.request import FineTuneRequest

API_KEY = "ftflowFAKEapiKEY0123456789abcdefSECRET"
CLIENT_SECRET = "ftflowFAKEclientSECRET~9876543210zyx"
WEBHOOK_TOKEN = "ftflowFAKEwebhookTOKEN5555"
SECRETS = (API_KEY, CLIENT_SECRET, WEBHOOK_TOKEN)


@pytest.fixture
def marked(
    tmp_path: Path, prefect_backend: Path, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """An emulator whose key and client secret are the markers, and a webhook whose
    Authorization header carries the third marker."""
    emulator = Emulator(tmp_path / "emulator", api_key=API_KEY, client_secret=CLIENT_SECRET)
    try:
        for name, value in settings_env(emulator.env).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("WEBHOOK_TOKEN", WEBHOOK_TOKEN)
        ensure_webhook_block(
            "secrets-test",
            receiver.url + "/secrets",
            secret_headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
        )
        monkeypatch.setenv("FTFLOW_NOTIFY_BLOCKS", '["secrets-test"]')
        with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: tmp_path / "r"}):
            yield emulator
    finally:
        emulator.stop()


async def _everything_prefect_kept(run_ids: list[Any]) -> list[str]:
    """Logs, artifacts and parameters of the runs, as text."""
    texts: list[str] = []
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids))
        )
        texts += [run.model_dump_json() for run in runs]
        for run_id in run_ids:
            only_this_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            offset = 0
            while logs := await client.read_logs(
                log_filter=only_this_run, limit=200, offset=offset
            ):
                texts += [log.message for log in logs]
                offset += 200
        artifacts = await client.read_artifacts()
        texts += [artifact.model_dump_json() for artifact in artifacts]
    return texts


async def _final_state(request: FineTuneRequest) -> State[Any]:
    return await fine_tune(request, return_state=True)


def test_no_secret_in_logs_artifacts_notifications_errors_or_results(
    marked: Emulator, tmp_path: Path, receiver: Any
) -> None:
    train, valid = sample_copy(tmp_path / "data")
    good = FineTuneRequest.model_validate(request_for(train, valid))
    state = asyncio.run(_final_state(good))
    assert state.is_completed()
    result = state.result()
    bad = FineTuneRequest.model_validate(
        request_for(
            train, valid, smoke_prompts=[{"name": "x", "prompt": "Hi", "contains": ["zzz-never"]}]
        )
    )
    failed_state = asyncio.run(_final_state(bad))
    assert failed_state.is_failed()
    with pytest.raises(StageFailed) as caught:
        failed_state.result()
    delivered = receiver.received("/secrets")
    assert len(delivered) >= 2, "both runs should have notified"
    # The token does reach the webhook (so the search below is meaningful) …
    assert all(d.headers.get("authorization") == f"Bearer {WEBHOOK_TOKEN}" for d in delivered)
    run_ids = [state.state_details.flow_run_id, failed_state.state_details.flow_run_id]
    kept = asyncio.run(_everything_prefect_kept(run_ids))
    assert len(kept) > 50, "the search must have something to search"
    haystacks = {
        "logs, artifacts and runs": "\n".join(kept),
        # … but only in the header it belongs in, never in what the notification says.
        "notification bodies": "\n".join(d.text for d in delivered),
        "exception": str(caught.value) + repr(caught.value),
        "result": result.model_dump_json(),
        "failed state message": str(failed_state.message),
    }
    for where, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked into {where}"
