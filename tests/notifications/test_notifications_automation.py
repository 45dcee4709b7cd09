"""The crash automation, live: a run that crashes with no hooks is still told of."""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import pytest
from prefect import flow
from webhook_receiver import Receiver  # type: ignore[import-not-found, unused-ignore]

from deployments.notifications import ensure_crash_automation, ensure_webhook_block

FLOW_NAME = "ftflow-crash-automation-test"


class WorkerDied(BaseException):
    """Stands in for a dead process: Prefect reports Crashed, and this flow has no hooks."""


@flow(name=FLOW_NAME)
def hookless(marker: str) -> None:
    """A flow without notification hooks, as good as one whose worker died."""
    raise WorkerDied(marker)


def test_crash_automation_tells_of_a_crashed_run(prefect_backend: Path, receiver: Receiver) -> None:
    name = f"hook-{uuid4().hex[:12]}"
    path = f"/hook/{name}"
    ensure_webhook_block(name, receiver.url + path)
    ensure_crash_automation([name], FLOW_NAME)
    marker = uuid4().hex

    with pytest.raises(WorkerDied):
        hookless(marker)

    delivery = receiver.wait_for(path, lambda d: marker in d.payload["body"], timeout=60)
    payload = delivery.payload
    assert payload["subject"].startswith(f"💥 {FLOW_NAME} run ")
    assert payload["subject"].endswith(" Crashed")
    # The test server has no UI URL, so the automation names the run by its id instead.
    assert re.search(r"^- Run: (http\S+/runs/flow-run/)?[0-9a-f-]{36}$", payload["body"], re.M)
    assert f"WorkerDied: {marker}" in payload["body"]
