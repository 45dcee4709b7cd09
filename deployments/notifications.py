"""Prefect-side notification setup: a webhook block and two automations. Idempotent.

Run-state hooks (`tasks.notify`) only fire while a process runs them. Two automations cover
the rest, evaluated by the Prefect server itself:

* **crash**: a run of the flow entering Crashed or TimedOut (and Failed, as `setup` asks)
  is told through the named blocks (subject and body name the flow, the run, its state, the
  link and the state message), unless the run told of it itself: the flow's hooks emit
  ``ftflow.flow-run.notified`` once their notification went out, and the automation waits
  ``grace`` (60 s) for that event before it speaks. So each failure is told once: by the
  run, with its failing stage, or by the server when the process died, its hook failed, or
  the run was failed from outside.
* **zombie**: a running flow run whose heartbeat stops is marked Crashed, which fires the
  crash automation. Prefect sends flow-run heartbeats every
  ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds (default 180, minimum 30); the default
  ``within`` here is 10 minutes, over three missed heartbeats, to keep false positives rare.

Usage::

    python -m deployments.notifications --webhook-url https://hooks.example.com/ft \\
        --block-name ft-webhook [--secret-header-env Authorization=FT_WEBHOOK_AUTH]

then name the block in ``FTFLOW_NOTIFY_BLOCKS='["ft-webhook"]'`` or a run's
``request.notify_blocks``. Slack, Teams and email use Prefect's own blocks, created once in
the UI or in Python and named the same way::

    SlackWebhook(url="https://hooks.slack.com/services/…").save("team-slack")
    MicrosoftTeamsWebhook(url="https://….logic.azure.com/workflows/…").save("team-teams")
    SendgridEmail(api_key="…", sender_email="ft@example.com", to_emails=["ml@example.com"]).save(
        "team-email"
    )

SMTP email needs ``prefect-email`` (``pip install prefect-email``), whose
``EmailServerCredentials`` is not a notification block: it is not supported by these hooks.
"""

import argparse
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from prefect.automations import (
    Automation,
    ChangeFlowRunState,
    EventTrigger,
    Posture,
    SendNotification,
)
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ActionTypesOrUnknown
from prefect.types import SecretDict

from ftflow.notifications import redact
from tasks.notify import NOTIFIED_EVENT, block_document_id

__all__ = [
    "CRASH_STATES",
    "NOTIFY_GRACE",
    "ZOMBIE_WITHIN",
    "crash_automation_name",
    "ensure_crash_automation",
    "ensure_webhook_block",
    "ensure_zombie_automation",
    "main",
    "zombie_automation_name",
]

logger = logging.getLogger(__name__)

CRASH_STATES = ("Crashed", "TimedOut")
"""Flow-run states the crash automation tells of."""

NOTIFY_GRACE = timedelta(seconds=60)
"""How long the server waits for a failed run's own notification before sending its own."""

ZOMBIE_WITHIN = timedelta(minutes=10)
"""How long without a heartbeat before a running flow run is marked Crashed."""

_ENDED = ("Completed", "Failed", "Cancelled", "Crashed", "TimedOut", "Paused", "Suspended")

_CRASH_SUBJECT = "💥 {{ flow.name }} run {{ flow_run.name }} {{ flow_run.state.name }}"
_CRASH_BODY = """\
**{{ flow.name }}** run **{{ flow_run.name }}**: {{ flow_run.state.name }}

- Run: {{ flow_run|ui_url or flow_run.id }}
- State since: {{ flow_run.state.timestamp }}
- Message: {{ flow_run.state.message }}

Sent by the Prefect server: the process running the flow may have died before telling."""


def ensure_webhook_block(
    name: str, url: str, *, secret_headers: Mapping[str, str] | None = None
) -> None:
    """Create or update the `CustomWebhookNotificationBlock` ``name`` posting JSON to ``url``.

    The JSON body is ``{"subject", "body", "text"}`` (``text`` is both, for Slack-style
    receivers). Header values in ``secret_headers`` are stored in the block's ``secrets``
    and referenced from its headers, so they never show in the block's plain fields.
    """
    headers: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for header, value in (secret_headers or {}).items():
        key = "header_" + re.sub(r"\W", "_", header).lower()
        headers[header] = "{{" + key + "}}"
        secrets[key] = value
    block = CustomWebhookNotificationBlock(
        name=name,
        url=url,
        method="POST",
        json_data={
            "subject": "{{subject}}",
            "body": "{{body}}",
            "text": "{{subject}}\n\n{{body}}",
        },
        headers=headers or None,
        cookies=None,
        secrets=SecretDict(secrets),
    )
    block.save(name, overwrite=True)
    shown = redact(url, secrets.values())
    logger.info("Webhook block %r posts to %s (%d secret headers)", name, shown, len(secrets))


def crash_automation_name(flow_name: str) -> str:
    """The crash automation's name for ``flow_name``: the key that makes setup idempotent."""
    return f"{flow_name}: notify when a run crashes"


def zombie_automation_name(flow_name: str) -> str:
    """The zombie automation's name for ``flow_name``."""
    return f"{flow_name}: crash runs whose heartbeat stopped"


def ensure_crash_automation(
    block_names: Sequence[str],
    flow_name: str = "fine-tune",
    *,
    states: Iterable[str] = CRASH_STATES,
    grace: timedelta = NOTIFY_GRACE,
) -> None:
    """Create or update the automation notifying ``block_names`` when a run of ``flow_name``
    enters one of ``states`` (Crashed and TimedOut by default) and has not told of it itself
    within ``grace``."""
    if not block_names:
        raise ValueError("the crash automation needs at least one notification block name")
    actions: list[ActionTypesOrUnknown] = [
        SendNotification(
            block_document_id=block_document_id(name),
            subject=_CRASH_SUBJECT,
            body=_CRASH_BODY,
        )
        for name in block_names
    ]
    trigger = EventTrigger(
        after={f"prefect.flow-run.{state}" for state in states},
        expect={NOTIFIED_EVENT},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow_name},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=grace,
    )
    _upsert(
        Automation(
            name=crash_automation_name(flow_name),
            description=f"Tells {', '.join(block_names)} when a {flow_name} run crashes.",
            trigger=trigger,
            actions=actions,
        )
    )


def ensure_zombie_automation(
    flow_name: str = "fine-tune", *, within: timedelta = ZOMBIE_WITHIN
) -> None:
    """Create or update the automation marking a run of ``flow_name`` Crashed when, after a
    heartbeat, neither another heartbeat nor a final state arrives ``within`` (10 minutes)."""
    trigger = EventTrigger(
        after={"prefect.flow-run.heartbeat"},
        expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in _ENDED)},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow_name},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=within,
    )
    message = f"No heartbeat for {within}: the process running the flow presumably died."
    _upsert(
        Automation(
            name=zombie_automation_name(flow_name),
            description=f"Marks {flow_name} runs Crashed when their heartbeat stops.",
            trigger=trigger,
            actions=[
                ChangeFlowRunState(
                    name="Crashed", state=StateType.CRASHED, message=message, force=False
                )
            ],
        )
    )


def _upsert(automation: Automation) -> None:
    """Create ``automation``, or update the one of the same name (and drop duplicates)."""
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(automation.name)
        for duplicate in existing[1:]:
            client.delete_automation(duplicate.id)
    if existing:
        automation.id = existing[0].id
        automation.update()
        logger.info("Updated automation %r", automation.name)
    else:
        automation.create()
        logger.info("Created automation %r", automation.name)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deployments.notifications",
        description="Create or update the notification webhook block and automations.",
    )
    parser.add_argument("--webhook-url", required=True, help="Where the webhook posts.")
    parser.add_argument("--block-name", required=True, help="Name to save the block as.")
    parser.add_argument(
        "--secret-header-env",
        action="append",
        default=[],
        metavar="HEADER=ENV_VAR",
        help="A header whose value is read from ENV_VAR and kept secret (repeatable).",
    )
    parser.add_argument("--flow-name", default="fine-tune", help="Flow to watch.")
    parser.add_argument(
        "--no-automations", action="store_true", help="Only save the webhook block."
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Save the webhook block, then the crash and zombie automations; 0 on success."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    headers: dict[str, str] = {}
    for item in args.secret_header_env:
        header, sep, variable = item.partition("=")
        if not sep or not header or variable not in os.environ:
            print(f"error: --secret-header-env {item!r}: need HEADER=ENV_VAR, set", file=sys.stderr)
            return 2
        headers[header] = os.environ[variable]
    ensure_webhook_block(args.block_name, args.webhook_url, secret_headers=headers)
    if not args.no_automations:
        ensure_crash_automation([args.block_name], args.flow_name)
        ensure_zombie_automation(args.flow_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
