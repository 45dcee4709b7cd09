"""``python -m deployments.setup``: the Prefect side, read back through the client; twice
changes nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.events.actions import ChangeFlowRunState, SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.variables import Variable
from pydantic import SecretStr

from deployments.notifications import crash_automation_name, zombie_automation_name
from deployments.pools import WORK_POOLS
from deployments.setup import FLOWS, SetupSettings, main, setup
from ftflow.azure.limits import training_limit_name, upload_limit_name
from ftflow.continuous import DEFAULT_VARIABLE, ContinuousState
from tasks.notify import NOTIFIED_EVENT

pytestmark = pytest.mark.usefixtures("prefect_backend")


def _account() -> str:
    return f"acct-{uuid4().hex[:8]}"


def _automation_ids(name: str) -> list[str]:
    with get_client(sync_client=True) as client:
        return [str(a.id) for a in client.read_automations_by_name(name)]


def test_setup_twice_leaves_one_of_everything() -> None:
    account = _account()
    settings = SetupSettings(webhook_url=SecretStr("http://127.0.0.1:9/setup-hook"))

    first = setup(account=account, notify_blocks=[], settings=settings)
    second = setup(account=account, notify_blocks=[], settings=settings)

    assert [line for line in second if line.startswith("work pool")] == [
        f"work pool {name}: exists" for name in WORK_POOLS
    ]
    assert first[2:-1] == second[2:-1]
    assert second[-1].endswith(": exists")  # the state Variable
    with get_client(sync_client=True) as client:
        pools = [client.read_work_pool(name) for name in WORK_POOLS]
        limits = [
            client.read_global_concurrency_limit_by_name(name(account))
            for name in (training_limit_name, upload_limit_name)
        ]
    assert [pool.type for pool in pools] == ["process", "process"]
    assert [limit.limit for limit in limits] == [1, 1]
    for flow_name in FLOWS:
        assert len(_automation_ids(crash_automation_name(flow_name))) == 1
        assert len(_automation_ids(zombie_automation_name(flow_name))) == 1


def test_setup_creates_the_state_variable_once_and_never_overwrites_it() -> None:
    Variable.unset(DEFAULT_VARIABLE)
    settings = SetupSettings()
    try:
        first = setup(account="", notify_blocks=[], settings=settings)
        empty = ContinuousState.from_variable(Variable.get(DEFAULT_VARIABLE))
        kept = {"deployment": "support", "promoted": "m.ft-1", "trained": ["ab"], "lineage": []}
        Variable.set(DEFAULT_VARIABLE, kept, overwrite=True)
        second = setup(account="", notify_blocks=[], settings=settings)
        after = Variable.get(DEFAULT_VARIABLE)
    finally:
        Variable.unset(DEFAULT_VARIABLE)

    assert f"variable {DEFAULT_VARIABLE}: created" in first
    assert (empty.promoted, empty.trained) == (None, [])
    assert f"variable {DEFAULT_VARIABLE}: exists" in second
    assert after == kept


def test_setup_notifies_of_failed_crashed_and_timed_out_runs() -> None:
    setup(
        account=_account(),
        notify_blocks=[],
        settings=SetupSettings(
            webhook_url=SecretStr("http://127.0.0.1:9/states"), webhook_block="states"
        ),
    )

    with get_client(sync_client=True) as client:
        notify = client.read_automations_by_name(crash_automation_name("fine-tune"))[0]
        zombie = client.read_automations_by_name(zombie_automation_name("fine-tune"))[0]
    assert isinstance(notify.trigger, EventTrigger)
    assert notify.trigger.after == {
        "prefect.flow-run.Failed",
        "prefect.flow-run.Crashed",
        "prefect.flow-run.TimedOut",
    }
    # ... unless the run told of it itself within the grace period.
    assert notify.trigger.expect == {NOTIFIED_EVENT}
    assert notify.trigger.posture == Posture.Proactive
    assert all(isinstance(action, SendNotification) for action in notify.actions)
    assert isinstance(zombie.actions[0], ChangeFlowRunState)


def test_setup_without_blocks_or_account_says_what_it_skipped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FTFLOW_WEBHOOK_URL", "FTFLOW_NOTIFY_BLOCKS", "AZURE_OPENAI_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env

    code = main([])

    out = capsys.readouterr().out
    assert code == 0
    assert "no notification block (set FTFLOW_WEBHOOK_URL or FTFLOW_NOTIFY_BLOCKS" in out
    assert "concurrency limit: skipped (AZURE_OPENAI_ACCOUNT is not set)" in out


def test_setup_names_a_missing_notification_block(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"nope-{uuid4().hex[:8]}"
    monkeypatch.setenv("FTFLOW_NOTIFY_BLOCKS", f'["{missing}"]')
    monkeypatch.delenv("FTFLOW_WEBHOOK_URL", raising=False)
    monkeypatch.chdir("/")

    code = main(["--account", _account()])

    assert code == 1
    assert f"no notification block named '{missing}'" in capsys.readouterr().err


def test_setup_prints_no_webhook_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTFLOW_WEBHOOK_URL", "https://hooks.example.com/x?token=url-s3cret-1")
    monkeypatch.setenv("FTFLOW_WEBHOOK_AUTHORIZATION", "Bearer header-s3cret-2")
    monkeypatch.setenv("FTFLOW_WEBHOOK_BLOCK", f"hook-{uuid4().hex[:8]}")
    monkeypatch.delenv("FTFLOW_NOTIFY_BLOCKS", raising=False)
    monkeypatch.chdir("/")

    code = main(["--account", _account()])

    captured = capsys.readouterr()
    assert code == 0
    assert "s3cret" not in captured.out + captured.err
