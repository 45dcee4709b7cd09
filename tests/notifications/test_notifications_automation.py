"""The crash automation, live: a run that crashes with no hooks is still told of; a run whose
hook told of its failure is not told again, while one whose hook could not tell is."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from webhook_receiver import Receiver  # type: ignore[import-not-found, unused-ignore]

from deployments.notifications import (
    crash_automation_name,
    ensure_crash_automation,
    ensure_webhook_block,
)
from tasks.notify import notification_hooks

FLOW_NAME = "ftflow-crash-automation-test"
TOLD_FLOW_NAME = "ftflow-told-once-test"
GRACE = timedelta(seconds=10)  # the least Prefect allows a proactive trigger
TIMEOUT = 120.0  # the most the server may take to speak: the grace, its sweeps, a busy machine


class WorkerDied(BaseException):
    """Stands in for a dead process: Prefect reports Crashed, and this flow has no hooks."""


@flow(name=FLOW_NAME)
def hookless(marker: str) -> None:
    """A flow without notification hooks, as good as one whose worker died."""
    raise WorkerDied(marker)


class Broken(Exception):
    """An ordinary failure, which the run's own hook tells of."""


@flow(name=TOLD_FLOW_NAME, **notification_hooks())
def told(request: dict[str, Any]) -> None:
    """Fails; its hook tells of it through ``request["notify_blocks"]``."""
    raise Broken(request["marker"])


def _webhook(receiver: Receiver, under: str = "/hook") -> tuple[str, str]:
    """A webhook block posting to a path of its own under ``under``: (name, path)."""
    name = f"hook-{uuid4().hex[:12]}"
    ensure_webhook_block(name, receiver.url + f"{under}/{name}")
    return name, f"{under}/{name}"


@contextmanager
def _crash_automation(block_names: Sequence[str], flow_name: str, **options: Any) -> Iterator[UUID]:
    """`ensure_crash_automation` with the test's `GRACE`: yields the automation's id, deletes it
    after (the Prefect server is shared with the rest of the session)."""
    ensure_crash_automation(block_names, flow_name, grace=GRACE, **options)
    with get_client(sync_client=True) as client:
        (automation,) = client.read_automations_by_name(crash_automation_name(flow_name))
    try:
        yield automation.id
    finally:
        with get_client(sync_client=True) as client:
            client.delete_automation(automation.id)


def test_crash_automation_tells_of_a_crashed_run(prefect_backend: Path, receiver: Receiver) -> None:
    name, path = _webhook(receiver)
    marker = uuid4().hex

    with _crash_automation([name], FLOW_NAME):
        with pytest.raises(WorkerDied):
            hookless(marker)
        delivery = receiver.wait_for(path, lambda d: marker in d.payload["body"], timeout=TIMEOUT)

    payload = delivery.payload
    assert payload["subject"].startswith(f"💥 {FLOW_NAME} run ")
    assert payload["subject"].endswith(" Crashed")
    # The test server has no UI URL, so the automation names the run by its id instead.
    assert re.search(r"^- Run: (http\S+/runs/flow-run/)?[0-9a-f-]{36}$", payload["body"], re.M)
    assert f"WorkerDied: {marker}" in payload["body"]


def _failed_run(notify_blocks: list[str]) -> UUID:
    """Run `told`, its hook telling ``notify_blocks``; the id of the Failed run."""
    state = told({"notify_blocks": notify_blocks, "marker": uuid4().hex}, return_state=True)
    assert state.is_failed(), state
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    return run_id


def _triggered_for(automation_id: UUID) -> list[str]:
    """The flow-run resource ids the automation fired for, as the server's events record."""
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": {
                    "event": {"name": ["prefect.automation.triggered"]},
                    "resource": {"id": [f"prefect.automation.{automation_id}"]},
                },
                "limit": 50,
            },
        )
    events = response.json()["events"]
    return sorted(event["payload"]["triggering_labels"]["prefect.resource.id"] for event in events)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {TIMEOUT} s"
        time.sleep(0.2)


def test_failure_told_by_its_hook_is_not_told_again_by_the_server(
    prefect_backend: Path, receiver: Receiver
) -> None:
    server, server_path = _webhook(receiver)  # the automation's block
    hook, hook_path = _webhook(receiver)  # the told run's hook's block
    failing, failing_path = _webhook(receiver, under="/fail")  # answers 500: its hook cannot tell

    with _crash_automation([server], TOLD_FLOW_NAME, states=("Failed",)) as automation:
        told_run = _failed_run([hook])
        control = _failed_run([failing])  # the positive control, after the told run

        # The server judges grace windows in the order they opened, and records each firing
        # (event prefect.automation.triggered) before it acts. The control's window opened
        # after the told run's: once the control's firing is on record, any firing for the
        # told run is too. No sleep, no guess at how long the server takes.
        receiver.wait_for(server_path, lambda d: str(control) in d.text, timeout=TIMEOUT)
        control_resource = f"prefect.flow-run.{control}"
        _wait_until(lambda: control_resource in _triggered_for(automation), "recorded firing")
        fired_for = _triggered_for(automation)

    assert fired_for == [control_resource]  # not for the told run
    from_server = [d.text for d in receiver.received(server_path)]
    assert len(from_server) == 1, from_server
    assert str(control) in from_server[0]
    assert str(told_run) not in from_server[0]
    from_hook = [d.payload["subject"] for d in receiver.received(hook_path)]
    assert len(from_hook) == 1, from_hook  # the told run's own message, once
    assert from_hook[0].startswith(f"❌ {TOLD_FLOW_NAME} run ")
    assert "failed: Broken: " in from_hook[0]
    assert len(receiver.received(failing_path)) == 1  # the control's hook did try
