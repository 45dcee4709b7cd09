"""``python -m deployments.setup``: the Prefect side, read back through the client; twice
changes nothing. Each test removes what its setup made (the server is shared with the session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.events.actions import ChangeFlowRunState, SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.variables import Variable
from prefect_objects import or_none  # type: ignore[import-not-found, unused-ignore]
from pydantic import SecretStr

from deployments.notifications import crash_automation_name, zombie_automation_name
from deployments.pools import WORK_POOLS
from deployments.setup import FLOWS, SetupSettings, main, setup
from ftflow.azure.limits import training_limit_name, upload_limit_name
from ftflow.continuous import DEFAULT_VARIABLE, ContinuousState
from tasks.notify import NOTIFIED_EVENT


@dataclass
class Made:
    """What a test's setup may leave on the server: the fresh names it used, and what existed
    before it (the work pools and the state Variable are created only when missing)."""

    pools: set[str]
    variable: bool
    accounts: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)

    def account(self) -> str:
        """A fresh account name, whose concurrency limits go after the test."""
        self.accounts.append(f"acct-{uuid4().hex[:8]}")
        return self.accounts[-1]

    def block(self) -> str:
        """A fresh webhook block name, whose block goes after the test."""
        self.blocks.append(f"hook-{uuid4().hex[:8]}")
        return self.blocks[-1]


def _leftovers(client: SyncPrefectClient, made: Made) -> dict[str, Callable[[], object]]:
    """What the test's setup left on the server, each with the call that removes it."""
    found: dict[str, Callable[[], object]] = {}
    for flow_name in FLOWS:
        for name in (crash_automation_name(flow_name), zombie_automation_name(flow_name)):
            for automation in client.read_automations_by_name(name):
                found[f"automation {automation.id} {name}"] = partial(
                    client.delete_automation, automation.id
                )
    for block in made.blocks:
        document = or_none(partial(client.read_block_document_by_name, block, "custom-webhook"))
        if document is not None:
            found[f"block {block}"] = partial(client.delete_block_document, document.id)
    for account in made.accounts:
        for name in (training_limit_name(account), upload_limit_name(account)):
            if or_none(partial(client.read_global_concurrency_limit_by_name, name)) is not None:
                found[f"limit {name}"] = partial(
                    client.delete_global_concurrency_limit_by_name, name
                )
    for pool in sorted(set(WORK_POOLS) - made.pools):
        if or_none(partial(client.read_work_pool, pool)) is not None:
            found[f"work pool {pool}"] = partial(client.delete_work_pool, pool)
    if not made.variable and Variable.get(DEFAULT_VARIABLE) is not None:
        found[f"variable {DEFAULT_VARIABLE}"] = partial(Variable.unset, DEFAULT_VARIABLE)
    return found


@pytest.fixture(autouse=True)
def made(prefect_backend: Path) -> Iterator[Made]:
    """Names for the test's setup; after it, removes what the setup made and checks that
    nothing is left (its automations would notify a dead webhook for the session's runs)."""
    with get_client(sync_client=True) as client:
        pools = {pool for pool in WORK_POOLS if or_none(partial(client.read_work_pool, pool))}
    made = Made(pools=pools, variable=Variable.get(DEFAULT_VARIABLE) is not None)
    yield made
    with get_client(sync_client=True) as client:
        for remove in _leftovers(client, made).values():
            remove()
        left = list(_leftovers(client, made))
    assert not left, f"left on the shared Prefect server: {left}"


def _automation_ids(name: str) -> list[str]:
    with get_client(sync_client=True) as client:
        return [str(a.id) for a in client.read_automations_by_name(name)]


def test_setup_twice_leaves_one_of_everything(made: Made) -> None:
    account = made.account()
    settings = SetupSettings(
        webhook_url=SecretStr("http://127.0.0.1:9/setup-hook"), webhook_block=made.block()
    )

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


def test_setup_notifies_of_failed_crashed_and_timed_out_runs(made: Made) -> None:
    setup(
        account=made.account(),
        notify_blocks=[],
        settings=SetupSettings(
            webhook_url=SecretStr("http://127.0.0.1:9/states"), webhook_block=made.block()
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
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, made: Made
) -> None:
    missing = f"nope-{uuid4().hex[:8]}"
    monkeypatch.setenv("FTFLOW_NOTIFY_BLOCKS", f'["{missing}"]')
    monkeypatch.delenv("FTFLOW_WEBHOOK_URL", raising=False)
    monkeypatch.chdir("/")

    code = main(["--account", made.account()])

    assert code == 1
    assert f"no notification block named '{missing}'" in capsys.readouterr().err


def test_setup_prints_no_webhook_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, made: Made
) -> None:
    monkeypatch.setenv("FTFLOW_WEBHOOK_URL", "https://hooks.example.com/x?token=url-s3cret-1")
    monkeypatch.setenv("FTFLOW_WEBHOOK_AUTHORIZATION", "Bearer header-s3cret-2")
    monkeypatch.setenv("FTFLOW_WEBHOOK_BLOCK", made.block())
    monkeypatch.delenv("FTFLOW_NOTIFY_BLOCKS", raising=False)
    monkeypatch.chdir("/")

    code = main(["--account", made.account()])

    captured = capsys.readouterr()
    assert code == 0
    assert "s3cret" not in captured.out + captured.err
