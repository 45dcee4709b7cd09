"""``python -m deployments.setup``: what the Prefect server needs before ftflow runs. Idempotent.

Run it once per server, and again whenever its inputs change; a second run changes nothing:

1. **Work pools** ``ftflow-prod`` and ``ftflow-local`` (type ``process``), created when missing.
   An existing pool is left as the operator configured it (paused, concurrency limit …).
2. **Webhook block** when ``FTFLOW_WEBHOOK_URL`` is set: a `CustomWebhookNotificationBlock`
   named ``FTFLOW_WEBHOOK_BLOCK`` (default ``ftflow-webhook``), with
   ``FTFLOW_WEBHOOK_AUTHORIZATION`` kept as a secret ``Authorization`` header.
3. **Automations**, per flow (``fine-tune``, ``continuous-fine-tune``, ``cleanup``,
   ``rollback``):
   *notify*: a run entering Failed, Crashed or TimedOut is told, by the Prefect server, to the
   webhook block and every block named in ``FTFLOW_NOTIFY_BLOCKS`` (skipped when there is
   none); *zombie*: a running run whose heartbeat stops is marked Crashed (which notifies).
   The flows' own hooks also tell of failures, with the failing stage; the server's message is
   the guarantee that holds when the process running the flow died.
4. **Global concurrency limits** of the account (``AZURE_OPENAI_ACCOUNT``), one slot each:
   ``azure-training-<account>``: Azure runs one training job per resource at a time, so a
   flow holds this slot from submit until its job ends, and a second run waits for it
   instead of failing on quota; ``azure-files-<account>``: held from looking for a file to
   uploading it, so two runs with the same data upload it once.

5. **Variable** ``continuous-fine-tune`` (the continuous pipeline's state), created empty when
   missing and never overwritten: ``cleanup/prod`` protects what it names, and refuses a
   Variable that does not exist, so it can run before the first continuous run.

The flows read everything else from parameters and settings. Secrets are never printed: the
webhook URL is shown with its query redacted.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound
from prefect.variables import Variable
from prefect.workers.process import ProcessWorker
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from deployments.notifications import (
    ZOMBIE_WITHIN,
    ensure_crash_automation,
    ensure_webhook_block,
    ensure_zombie_automation,
)
from deployments.pools import WORK_POOLS
from ftflow.azure.limits import (
    RUNNING_JOBS_PER_RESOURCE,
    training_limit_name,
    upload_limit_name,
)
from ftflow.continuous import DEFAULT_VARIABLE, ContinuousState
from ftflow.settings import ManagementSettings, NotificationSettings

__all__ = [
    "FLOWS",
    "NOTIFY_STATES",
    "SetupSettings",
    "ensure_resource_limits",
    "ensure_state_variable",
    "ensure_work_pool",
    "main",
    "setup",
]

logger = logging.getLogger(__name__)

FLOWS = ("fine-tune", "continuous-fine-tune", "cleanup", "rollback")
"""The flows whose runs the automations watch."""

NOTIFY_STATES = ("Failed", "Crashed", "TimedOut")
"""Final states the server notifies of."""


class SetupSettings(BaseSettings):
    """The notification inputs of the setup, from the environment (or ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix="FTFLOW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    webhook_url: SecretStr | None = Field(
        default=None, description="Where the webhook block posts; unset: no webhook block."
    )
    webhook_block: str = Field(
        default="ftflow-webhook", min_length=1, description="Name of the webhook block."
    )
    webhook_authorization: SecretStr | None = Field(
        default=None, description="Authorization header value sent with every notification."
    )


def ensure_work_pool(name: str) -> str:
    """Create the process work pool ``name`` unless it exists; returns what was done."""
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                    description="ftflow flow runs, as subprocesses of the worker.",
                )
            )
            return "created"
    if pool.type != "process":
        raise ValueError(f"work pool {name!r} exists with type {pool.type!r}, not 'process'")
    return "exists"


def ensure_resource_limits(account: str) -> list[str]:
    """Create or update the one-slot training and upload limits of ``account``; their names."""
    slots = {training_limit_name(account): RUNNING_JOBS_PER_RESOURCE, upload_limit_name(account): 1}
    with get_client(sync_client=True) as client:
        for name, limit in slots.items():
            client.upsert_global_concurrency_limit_by_name(name, limit=limit)
    return list(slots)


def ensure_state_variable(name: str = DEFAULT_VARIABLE) -> str:
    """Create the continuous pipeline's state Variable ``name``, empty, unless it exists."""
    if Variable.get(name) is not None:
        return "exists"
    Variable.set(name, ContinuousState().to_variable())
    return "created"


def setup(
    *,
    account: str,
    notify_blocks: Sequence[str],
    settings: SetupSettings,
    zombie_within: timedelta = ZOMBIE_WITHIN,
) -> list[str]:
    """Bring the server to the state described above; returns one line per item."""
    done = [f"work pool {name}: {ensure_work_pool(name)}" for name in WORK_POOLS]
    blocks = list(notify_blocks)
    if settings.webhook_url is not None:
        headers = {}
        if settings.webhook_authorization is not None:
            headers["Authorization"] = settings.webhook_authorization.get_secret_value()
        url = settings.webhook_url.get_secret_value()
        ensure_webhook_block(settings.webhook_block, url, secret_headers=headers)
        blocks.insert(0, settings.webhook_block)
        done.append(f"webhook block {settings.webhook_block}: saved")
    for flow_name in FLOWS:
        if blocks:
            ensure_crash_automation(blocks, flow_name, states=NOTIFY_STATES)
        ensure_zombie_automation(flow_name, within=zombie_within)
    if blocks:
        states = "/".join(NOTIFY_STATES)
        done.append(f"automations: {states} runs told to {', '.join(blocks)}; zombies crashed")
    else:
        done.append(
            "automations: zombie runs crashed; no notification block "
            "(set FTFLOW_WEBHOOK_URL or FTFLOW_NOTIFY_BLOCKS to be told of failures)"
        )
    if account:
        names = ", ".join(ensure_resource_limits(account))
        done.append(f"concurrency limits {names}: 1 slot each")
    else:
        done.append("concurrency limit: skipped (AZURE_OPENAI_ACCOUNT is not set)")
    done.append(f"variable {DEFAULT_VARIABLE}: {ensure_state_variable()}")
    return done


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deployments.setup",
        description="Create or update ftflow's work pools, notification block, automations "
        "and concurrency limit on the Prefect server at PREFECT_API_URL.",
    )
    parser.add_argument(
        "--account",
        help="Azure OpenAI account whose training limit to create (env AZURE_OPENAI_ACCOUNT).",
    )
    parser.add_argument(
        "--zombie-minutes",
        type=float,
        default=ZOMBIE_WITHIN.total_seconds() / 60,
        help="Minutes without a heartbeat before a running run is marked Crashed "
        "(default %(default)s; keep it well above PREFECT_FLOWS_HEARTBEAT_FREQUENCY).",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the setup; 0 on success, 1 when the server refuses or a named block is missing."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    account = args.account if args.account is not None else ManagementSettings().account_name
    try:
        done = setup(
            account=account,
            notify_blocks=NotificationSettings().blocks,
            settings=SetupSettings(),
            zombie_within=timedelta(minutes=args.zombie_minutes),
        )
    except (LookupError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for line in done:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
