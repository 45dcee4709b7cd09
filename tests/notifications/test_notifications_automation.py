"""The crash automation, live: a run that crashes with no hooks is still told of; a run whose
hook told of its failure is not told again."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prefect import flow
from webhook_receiver import Receiver  # type: ignore[import-not-found, unused-ignore]

from deployments.notifications import ensure_crash_automation, ensure_webhook_block
from tasks.notify import notification_hooks

FLOW_NAME = "ftflow-crash-automation-test"
TOLD_FLOW_NAME = "ftflow-told-once-test"
GRACE = timedelta(seconds=10)  # the least Prefect allows a proactive trigger


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
    ensure_crash_automation([name], FLOW_NAME, grace=GRACE)
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


class Broken(Exception):
    """An ordinary failure, which the run's own hook tells of."""


def _webhook(receiver: Receiver) -> tuple[str, str]:
    name = f"hook-{uuid4().hex[:12]}"
    ensure_webhook_block(name, receiver.url + f"/hook/{name}")
    return name, f"/hook/{name}"


def test_failure_told_by_its_hook_is_not_told_again_by_the_server(
    prefect_backend: Path, receiver: Receiver
) -> None:
    name, path = _webhook(receiver)
    ensure_crash_automation([name], TOLD_FLOW_NAME, states=("Failed",), grace=GRACE)
    marker = uuid4().hex

    @flow(name=TOLD_FLOW_NAME, **notification_hooks(default_blocks=[name]))
    def told(marker: str) -> None:
        raise Broken(marker)

    with pytest.raises(Broken):
        told(marker)

    receiver.wait_for(path, lambda d: marker in d.payload["body"], timeout=60)
    time.sleep(GRACE.total_seconds() + 15)  # the server's turn has come and gone
    told_of = [d for d in receiver.received(path) if marker in d.payload["body"]]
    assert len(told_of) == 1, [d.payload["subject"] for d in told_of]
    assert "failed" in told_of[0].payload["subject"]  # the hook's message, not the server's
