"""Idempotent notification setup, read back through the Prefect client."""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import uuid4

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState, SendNotification
from prefect.events.schemas.automations import Automation, EventTrigger, Posture

from deployments.notifications import (
    NOTIFY_GRACE,
    crash_automation_name,
    ensure_crash_automation,
    ensure_webhook_block,
    ensure_zombie_automation,
    main,
    zombie_automation_name,
)
from tasks.notify import NOTIFIED_EVENT

pytestmark = pytest.mark.usefixtures("prefect_backend")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:10]}"


def _automations(name: str) -> list[Automation]:
    with get_client(sync_client=True) as client:
        return client.read_automations_by_name(name)


def _block_ids(name: str) -> list[str]:
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/block_documents/filter",
            json={"block_documents": {"name": {"any_": [name]}}},
        )
    return [document["id"] for document in response.json()]


def _webhook(name: str) -> CustomWebhookNotificationBlock:
    block = CustomWebhookNotificationBlock.load(name)
    assert isinstance(block, CustomWebhookNotificationBlock)
    return block


def test_ensure_webhook_block_twice_updates_one_block() -> None:
    name = _unique("hook")

    ensure_webhook_block(name, "http://127.0.0.1:9/first")
    first = _block_ids(name)
    ensure_webhook_block(
        name, "http://127.0.0.1:9/second", secret_headers={"Authorization": "Bearer t0ken-abc"}
    )

    assert _block_ids(name) == first
    assert len(first) == 1
    block = _webhook(name)
    assert block.url == "http://127.0.0.1:9/second"
    assert block.headers == {"Authorization": "{{header_authorization}}"}
    assert block.secrets.get_secret_value() == {"header_authorization": "Bearer t0ken-abc"}
    assert block.json_data == {
        "subject": "{{subject}}",
        "body": "{{body}}",
        "text": "{{subject}}\n\n{{body}}",
    }


def test_ensure_webhook_block_logs_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    name = _unique("hook")

    ensure_webhook_block(
        name,
        "https://hooks.example.com/ft?token=url-t0ken-123",
        secret_headers={"X-Token": "header-s3cret-456"},
    )

    assert f"Webhook block {name!r} posts to https://hooks.example.com/ft?token=***" in caplog.text
    assert "url-t0ken-123" not in caplog.text
    assert "header-s3cret-456" not in caplog.text


def test_ensure_crash_automation_twice_keeps_one_with_the_right_trigger() -> None:
    flow_name = _unique("flow")
    first, second = _unique("hook"), _unique("hook")
    ensure_webhook_block(first, "http://127.0.0.1:9/a")
    ensure_webhook_block(second, "http://127.0.0.1:9/b")

    ensure_crash_automation([first], flow_name)
    created = _automations(crash_automation_name(flow_name))
    ensure_crash_automation([first, second], flow_name)
    updated = _automations(crash_automation_name(flow_name))

    assert len(created) == len(updated) == 1
    assert updated[0].id == created[0].id
    automation = updated[0]
    assert automation.enabled
    trigger = automation.trigger
    assert isinstance(trigger, EventTrigger)
    # After Crashed or TimedOut, unless the run's own notification comes within the grace.
    assert trigger.after == {"prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"}
    assert trigger.expect == {NOTIFIED_EVENT}
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.posture == Posture.Proactive
    assert trigger.within == NOTIFY_GRACE
    assert trigger.threshold == 1
    related = trigger.match_related
    assert not isinstance(related, list)
    assert related.get("prefect.resource.name") == [flow_name]
    assert related.get("prefect.resource.role") == ["flow"]
    actions = automation.actions
    assert all(isinstance(action, SendNotification) for action in actions)
    with get_client(sync_client=True) as client:
        ids = [client.read_block_document_by_name(n, "custom-webhook").id for n in (first, second)]
    assert ids == [
        action.block_document_id for action in actions if isinstance(action, SendNotification)
    ]
    notification = actions[0]
    assert isinstance(notification, SendNotification)
    assert "{{ flow_run.name }}" in notification.subject
    assert "{{ flow_run|ui_url or flow_run.id }}" in notification.body


def test_ensure_crash_automation_refuses_unknown_blocks() -> None:
    flow_name = _unique("flow")

    with pytest.raises(LookupError, match="no notification block named 'nope-"):
        ensure_crash_automation([_unique("nope")], flow_name)
    with pytest.raises(ValueError, match="at least one"):
        ensure_crash_automation([], flow_name)

    assert _automations(crash_automation_name(flow_name)) == []


def test_ensure_zombie_automation_twice_keeps_one() -> None:
    flow_name = _unique("flow")

    ensure_zombie_automation(flow_name)
    ensure_zombie_automation(flow_name, within=timedelta(minutes=15))

    (automation,) = _automations(zombie_automation_name(flow_name))
    trigger = automation.trigger
    assert isinstance(trigger, EventTrigger)
    assert trigger.posture == Posture.Proactive
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    assert {"prefect.flow-run.heartbeat", "prefect.flow-run.Completed"} <= trigger.expect
    assert "prefect.flow-run.TimedOut" in trigger.expect
    assert trigger.for_each == {"prefect.resource.id"}
    assert trigger.within == timedelta(minutes=15)
    (action,) = automation.actions
    assert isinstance(action, ChangeFlowRunState)
    assert action.state == StateType.CRASHED


def test_main_sets_up_block_and_both_automations(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    name, flow_name = _unique("hook"), _unique("flow")
    monkeypatch.setenv("FT_TEST_WEBHOOK_AUTH", "Bearer cli-s3cret-789")
    argv = ["--webhook-url", "http://127.0.0.1:9/ft", "--block-name", name]
    argv += ["--secret-header-env", "Authorization=FT_TEST_WEBHOOK_AUTH", "--flow-name", flow_name]

    assert main(argv) == 0
    assert main(argv) == 0

    block = _webhook(name)
    assert block.secrets.get_secret_value() == {"header_authorization": "Bearer cli-s3cret-789"}
    assert len(_automations(crash_automation_name(flow_name))) == 1
    assert len(_automations(zombie_automation_name(flow_name))) == 1
    assert "cli-s3cret-789" not in caplog.text
    assert f"Updated automation {crash_automation_name(flow_name)!r}" in caplog.text


def test_main_rejects_a_secret_header_without_its_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--webhook-url", "http://127.0.0.1:9/ft", "--block-name", _unique("hook")]

    assert main([*argv, "--secret-header-env", "Authorization=FT_TEST_UNSET_VARIABLE"]) == 2
    assert "need HEADER=ENV_VAR, set" in capsys.readouterr().err
