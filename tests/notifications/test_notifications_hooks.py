"""Real flow runs with the notification hooks, delivering to a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from _notifications_served import FLOW_NAME as SERVED_FLOW_NAME  # type: ignore[import-not-found, unused-ignore]
from prefect import flow
from prefect.blocks.notifications import MattermostWebhook
from prefect.blocks.system import Secret
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.settings import PREFECT_API_URL
from prefect.states import Cancelling, Completed, Crashed, Failed
from prefect_objects import or_none  # type: ignore[import-not-found, unused-ignore]
from pydantic import SecretStr
from webhook_receiver import Delivery, Receiver  # type: ignore[import-not-found, unused-ignore]

from deployments._processes import stop_group
from deployments.notifications import ensure_webhook_block
from ftflow.notifications import Message, StageFailed
from ftflow.request import FineTuneRequest, FineTuneResult
from tasks.notify import notification_hooks, outcome_from_state, send

FLOW_NAME = "ftflow-notify-test"
DEFAULT_BLOCK = "ftflow-notify-test-default"
SECRET = "sk-FAKE-AZURE-KEY-4f9c2e7d1b"
HOOK_TOKEN = "Bearer hook-token-7c1d9e"
HOLD_SECONDS = 240  # a served run's wait to be cancelled: far beyond RUN_TIMEOUT's need
RUN_TIMEOUT = 120.0  # the most a served run may take to start, end or tell (a busy machine)
REPO = Path(__file__).resolve().parents[2]
SERVED = Path(__file__).with_name("_notifications_served.py")
T = TypeVar("T")
STAGES = ("validate", "upload", "submit", "wait", "retrieve", "deploy", "smoke_test")


class SimulatedCrash(BaseException):
    """Stands in for a kill: a BaseException out of a flow makes Prefect report Crashed."""


def _pipeline(request: dict[str, Any]) -> dict[str, str]:
    """What the fine-tune flow does, reduced to how it ends, chosen by ``request["outcome"]``."""
    outcome = request.get("outcome", "succeed")
    if outcome == "stage":
        raise StageFailed(request["stage"], request["error"], request.get("progress"))
    if outcome == "plain":
        raise RuntimeError(request["error"])
    if outcome == "crash":
        raise SimulatedCrash(request["error"])
    return {
        "job_id": "ftjob-ok",
        "fine_tuned_model": "gpt-4o-mini-2024-07-18.ft-ok",
        "deployment": request["deployment_name"],
        "smoke_verdict": "2/2 passed",
    }


pipeline = flow(name=FLOW_NAME, **notification_hooks())(_pipeline)
pipeline_with_default = flow(name=FLOW_NAME, **notification_hooks([DEFAULT_BLOCK]))(_pipeline)


@flow(name=FLOW_NAME, **notification_hooks())
async def async_pipeline(request: FineTuneRequest) -> FineTuneResult:
    """Shaped like the real flow: async, a `FineTuneRequest` in, a `FineTuneResult` out."""
    await asyncio.sleep(0)
    if request.suffix == "fail":
        raise StageFailed("deploy", "deployment 'x' is Failed", {"job_id": "ftjob-async"})
    return FineTuneResult(
        job_id="ftjob-async",
        fine_tuned_model=f"{request.base_model}.ft-async",
        deployment=request.deployment_name,
        training_file_id="file-1",
        smoke_passed=True,
        smoke_verdict="1/1 passed",
    )


@pytest.fixture
def webhook(prefect_backend: Path, receiver: Receiver) -> tuple[str, str]:
    """A saved webhook block posting to a path of its own: (block name, receiver path)."""
    name = f"hook-{uuid4().hex[:12]}"
    path = f"/hook/{name}"
    ensure_webhook_block(name, receiver.url + path, secret_headers={"Authorization": HOOK_TOKEN})
    return name, path


@dataclass(frozen=True)
class Served:
    """A runner serving `_notifications_served.held`: its process group, log and deployment."""

    process: subprocess.Popen[bytes]
    log: Path
    deployment_id: UUID


def _poll(
    what: str, check: Callable[[], T | None], runner: subprocess.Popen[bytes], log: Path
) -> T:
    """The first result of ``check()`` that is not None, asked while the runner lives."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while (found := check()) is None:
        output = log.read_text(errors="replace")
        assert runner.poll() is None, f"the runner exited before {what}:\n{output}"
        assert time.monotonic() < deadline, f"no {what} within {RUN_TIMEOUT} s:\n{output}"
        time.sleep(0.2)
    return found


@pytest.fixture
def served(prefect_backend: Path, tmp_path: Path) -> Iterator[Served]:
    """`held` served (``Flow.serve``) in a process group of its own, polling every second,
    with ``AZURE_OPENAI_API_KEY`` set to `SECRET`; stopped and its deployment deleted after."""
    name = f"{SERVED_FLOW_NAME}/served-{uuid4().hex[:8]}"
    log = tmp_path / "runner.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FTFLOW_"))}
    env |= {
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "AZURE_OPENAI_API_KEY": SECRET,
    }
    with log.open("wb") as output:
        runner = subprocess.Popen(
            [sys.executable, str(SERVED), name.partition("/")[2]],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    with get_client(sync_client=True) as client:
        try:
            deployment = _poll(
                f"deployment {name}",
                lambda: or_none(partial(client.read_deployment_by_name, name)),
                runner,
                log,
            )
            yield Served(runner, log, deployment.id)
        finally:
            stop_group(runner.pid, signal.SIGTERM, timeout=60)
            runner.wait()
            if (left := or_none(partial(client.read_deployment_by_name, name))) is not None:
                client.delete_deployment(left.id)


def _wait_for_run(client: SyncPrefectClient, run_id: UUID, state: str, served: Served) -> FlowRun:
    """The served run once in the state named ``state``; fails early if it ended otherwise."""

    def reached() -> FlowRun | None:
        run = client.read_flow_run(run_id)
        assert run.state is not None
        if run.state.name == state:
            return run
        assert not run.state.is_final(), f"the run ended {run.state.name}, not {state}"
        return None

    return _poll(f"run {state}", reached, served.process, served.log)


def _request(blocks: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "training_file": "data/sample/train.jsonl",
        "base_model": "gpt-4o-mini-2024-07-18",
        "deployment_name": "support-bot",
        "notify_blocks": blocks,
        **fields,
    }


def _flow_run(state: State[Any]) -> FlowRun:
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def _only(receiver: Receiver, path: str) -> Delivery:
    deliveries = receiver.received(path)
    assert len(deliveries) == 1, [d.payload for d in deliveries]
    return deliveries[0]


@pytest.mark.parametrize("stage", STAGES)
def test_failure_at_each_stage_names_the_stage(
    stage: str, webhook: tuple[str, str], receiver: Receiver
) -> None:
    name, path = webhook
    request = _request(
        [name],
        outcome="stage",
        stage=stage,
        error=f"{stage} went wrong: deployment 'x' is Failed\nsecond line",
        progress={"job_id": "ftjob-1", "model": "m.ft-abc"},
    )

    state = pipeline(request, return_state=True)

    assert state.is_failed()
    run = _flow_run(state)
    delivery = _only(receiver, path)
    payload = delivery.payload
    assert payload["subject"] == (
        f"❌ {FLOW_NAME} run {run.name} failed at {stage}: "
        f"{stage} went wrong: deployment 'x' is Failed"
    )
    body = payload["body"]
    assert f"- Failed step: {stage}" in body
    assert "- Job: ftjob-1" in body
    assert "- Model: m.ft-abc" in body
    assert "- Deployment: support-bot" in body
    assert f"/runs/flow-run/{run.id}" in body
    assert "    second line" in body
    assert payload["text"] == f"{payload['subject']}\n\n{body}"
    assert delivery.headers["authorization"] == HOOK_TOKEN


def test_success_names_model_deployment_and_verdict(
    webhook: tuple[str, str], receiver: Receiver
) -> None:
    name, path = webhook

    state = pipeline(_request([name]), return_state=True)

    assert state.is_completed()
    run = _flow_run(state)
    payload = _only(receiver, path).payload
    assert payload["subject"] == (
        f"✅ {FLOW_NAME} run {run.name} completed: "
        "gpt-4o-mini-2024-07-18.ft-ok on deployment support-bot"
    )
    assert "- Job: ftjob-ok" in payload["body"]
    assert "- Smoke test: 2/2 passed" in payload["body"]
    assert "Failed step" not in payload["body"]


def test_blocks_from_request_settings_and_defaults_are_told_once(
    prefect_backend: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_webhook_block(DEFAULT_BLOCK, f"{receiver.url}/hook/{DEFAULT_BLOCK}")
    other = f"hook-{uuid4().hex[:12]}"
    ensure_webhook_block(other, f"{receiver.url}/hook/{other}")
    monkeypatch.setenv("FTFLOW_NOTIFY_BLOCKS", f'["{other}", "{DEFAULT_BLOCK}"]')
    before = len(receiver.received(f"/hook/{DEFAULT_BLOCK}"))

    state = pipeline_with_default(_request([DEFAULT_BLOCK]), return_state=True)

    assert state.is_completed()
    assert len(receiver.received(f"/hook/{DEFAULT_BLOCK}")) == before + 1
    assert _only(receiver, f"/hook/{other}").payload["subject"].startswith("✅")


async def _run_async(request: FineTuneRequest) -> State[FineTuneResult]:
    return await async_pipeline(request, return_state=True)


@pytest.mark.parametrize("suffix", ["fail", "ok"])
def test_async_flow_with_typed_request_and_result(
    suffix: str, webhook: tuple[str, str], receiver: Receiver
) -> None:
    name, path = webhook
    request = FineTuneRequest.model_validate(
        _request([name], suffix=suffix) | {"deployment_name": "async-bot"}
    )

    state = asyncio.run(_run_async(request))

    payload = _only(receiver, path).payload
    run = _flow_run(state)
    if suffix == "fail":
        assert state.is_failed()
        assert payload["subject"] == (
            f"❌ {FLOW_NAME} run {run.name} failed at deploy: deployment 'x' is Failed"
        )
        assert "- Job: ftjob-async" in payload["body"]
    else:
        assert state.is_completed()
        assert payload["subject"] == (
            f"✅ {FLOW_NAME} run {run.name} completed: "
            "gpt-4o-mini-2024-07-18.ft-async on deployment async-bot"
        )
        assert "- Smoke test: 1/1 passed" in payload["body"]


def test_crash_is_told_by_the_crashed_hook(webhook: tuple[str, str], receiver: Receiver) -> None:
    name, path = webhook
    marker = uuid4().hex

    with pytest.raises(SimulatedCrash):
        pipeline(_request([name], outcome="crash", error=f"killed {marker}"))

    payload = _only(receiver, path).payload
    assert payload["subject"].startswith(f"💥 {FLOW_NAME} run ")
    assert payload["subject"].endswith(f"crashed: SimulatedCrash: killed {marker}")
    assert "**: Crashed" in payload["body"]


def test_cancelling_a_served_run_through_the_api_runs_its_cancellation_hook(
    served: Served, webhook: tuple[str, str], receiver: Receiver
) -> None:
    name, path = webhook
    # The runner's own Azure key, pasted where it does not belong: its hook must redact it.
    request = _request([name], hold_seconds=HOLD_SECONDS, deployment_name=f"bot-{SECRET}")
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            served.deployment_id, parameters={"request": request}
        )
        _wait_for_run(client, run.id, "Running", served)

        # What `prefect flow-run cancel` and the UI's Cancel do.
        cancelling = client.set_flow_run_state(run.id, State(type=StateType.CANCELLING))
        assert cancelling.status == SetStateStatus.ACCEPT, cancelling.details
        # The runner stops the run's process, runs the hooks, and only then marks it Cancelled.
        final = _wait_for_run(client, run.id, "Cancelled", served)

    assert final.state is not None
    assert final.state.message == "Flow run was cancelled successfully."  # by the runner
    delivery = _only(receiver, path)  # told once: the run's own process told nothing
    payload = delivery.payload
    assert payload["subject"] == (
        f"🚫 {SERVED_FLOW_NAME} run {final.name} cancelled: Flow run was cancelled."
    )
    assert f"**{SERVED_FLOW_NAME}** run **{final.name}**: Cancelling" in payload["body"]
    assert f"/runs/flow-run/{run.id}" in payload["body"]
    assert "- Deployment: bot-***" in payload["body"]
    assert SECRET not in delivery.text
    assert HOOK_TOKEN not in delivery.text
    assert delivery.headers["authorization"] == HOOK_TOKEN


def test_secret_in_a_plain_error_is_redacted(
    webhook: tuple[str, str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, path = webhook
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    error = f"401 Unauthorized for key {SECRET}; sent api-key: other-key-123456"

    state = pipeline(_request([name], outcome="plain", error=error), return_state=True)

    assert state.is_failed()
    delivery = _only(receiver, path)
    assert SECRET not in delivery.text
    assert "other-key-123456" not in delivery.text
    assert (
        "RuntimeError: 401 Unauthorized for key ***; sent api-key: ***" in delivery.payload["body"]
    )


def test_secret_in_a_stage_failure_is_redacted_everywhere(
    webhook: tuple[str, str],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name, path = webhook
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.INFO)
    request = _request([name], outcome="stage", stage="upload", error=f"rejected key {SECRET}")

    state = pipeline(request, return_state=True)

    assert state.is_failed()
    delivery = _only(receiver, path)
    assert SECRET not in delivery.text
    assert "failed at upload: rejected key ***" in delivery.payload["subject"]
    assert "Finished in state Failed" in caplog.text
    assert SECRET not in caplog.text


def test_unknown_and_failing_blocks_do_not_stop_the_others(
    webhook: tuple[str, str],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name, path = webhook
    unknown = f"no-such-block-{uuid4().hex[:8]}"
    failing = f"hook-{uuid4().hex[:12]}"
    ensure_webhook_block(failing, f"{receiver.url}/fail/{failing}")
    request = _request([unknown, failing, name], outcome="stage", stage="wait", error="job failed")

    state = pipeline(request, return_state=True)

    assert state.is_failed()
    assert state.name == "Failed"
    assert "failed at wait" in _only(receiver, path).payload["subject"]
    assert len(receiver.received(f"/fail/{failing}")) == 1
    assert f"Notification through block {unknown!r} failed: LookupError" in caplog.text
    assert f"Notification through block {failing!r} failed: HTTPStatusError" in caplog.text
    assert "2 of 3 notifications failed" in caplog.text


def test_send_returns_failed_names_and_accepts_slugs(
    webhook: tuple[str, str], receiver: Receiver
) -> None:
    name, path = webhook
    unknown = f"no-such-block-{uuid4().hex[:8]}"
    message = Message(subject="s", body="b")

    failed = send(message, [unknown, f"custom-webhook/{name}"])

    assert failed == [unknown]
    assert _only(receiver, path).payload["subject"] == "s"


def test_send_refuses_blocks_that_cannot_notify(prefect_backend: Path) -> None:
    name = f"not-a-notifier-{uuid4().hex[:8]}"
    Secret(value=SecretStr("abcdefgh")).save(name)

    assert send(Message("s", "b"), [name, f"secret/{name}"]) == [name, f"secret/{name}"]


def test_send_asks_for_a_slug_when_a_name_is_ambiguous(
    prefect_backend: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"twin-{uuid4().hex[:8]}"
    ensure_webhook_block(name, f"{receiver.url}/hook/{name}")
    _mattermost(receiver, name, path=None)

    assert send(Message("s", "b"), [name]) == [name]
    assert f"use one of custom-webhook/{name}, mattermost-webhook/{name}" in caplog.text
    assert receiver.received(f"/hook/{name}") == []


def _mattermost(receiver: Receiver, name: str, path: str | None) -> str:
    port = int(receiver.url.rsplit(":", 1)[1])
    token = f"mm-token-{uuid4().hex}"
    MattermostWebhook(
        hostname="127.0.0.1", port=port, token=SecretStr(token), secure=False, path=path
    ).save(name)
    return token


def test_apprise_block_delivers(prefect_backend: Path, receiver: Receiver) -> None:
    name = f"mm-{uuid4().hex[:8]}"
    token = _mattermost(receiver, name, path=None)

    assert send(Message("deploy failed", "details"), [f"mattermost-webhook/{name}"]) == []
    delivery = _only(receiver, f"/hooks/{token}")
    assert "deploy failed" in delivery.text
    assert "details" in delivery.text


def test_apprise_block_failure_is_reported_without_its_token(
    prefect_backend: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Apprise blocks report failure by a False return unless asked to raise: send() asks.
    name = f"mm-{uuid4().hex[:8]}"
    token = _mattermost(receiver, name, path="/fail")
    caplog.set_level(logging.DEBUG)

    assert send(Message("s", "b"), [name]) == [name]
    assert len(receiver.received(f"/fail/hooks/{token}")) == 1
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.endswith("ftflow.notify"))
    assert f"Notification through block {name!r} failed: NotificationError" in ours
    assert "/fail/hooks/***" in ours  # apprise's log, passed on with the token masked
    assert token not in ours


def _flow_run_record(**parameters: Any) -> FlowRun:
    return FlowRun(name="calm-otter", flow_id=uuid4(), parameters=parameters)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            State(type=StateType.FAILED, name="TimedOut", message="Flow run exceeded 60 s"),
            {"state": "TimedOut", "error": "Flow run exceeded 60 s"},
        ),
        (
            Crashed(message="Worker died"),
            {"state": "Crashed", "error": "Worker died"},
        ),
        (
            Cancelling(message="Cancelled by ops"),
            {"state": "Cancelling", "error": "Cancelled by ops"},
        ),
        (
            Failed(data=KeyError("job_id")),
            {"state": "Failed", "error": "KeyError: 'job_id'"},
        ),
        (
            Failed(data=ValueError("wrapped")),
            {"state": "Failed", "error": "ValueError: wrapped"},
        ),
    ],
)
def test_outcome_from_constructed_states(state: State[Any], expected: dict[str, str]) -> None:
    run = _flow_run_record(request=_request([]))

    outcome = outcome_from_state(pipeline, run, state)

    assert outcome.flow_name == FLOW_NAME
    assert outcome.run_name == "calm-otter"
    assert outcome.state == expected["state"]
    assert outcome.error == expected["error"]
    assert outcome.failed_stage is None
    assert outcome.model == "gpt-4o-mini-2024-07-18"
    assert outcome.deployment == "support-bot"


def test_outcome_finds_a_stage_failure_behind_another_exception() -> None:
    try:
        try:
            raise StageFailed("retrieve", "no model", {"job_id": "ftjob-9", "deployment": "d2"})
        except StageFailed as inner:
            raise RuntimeError("wrapper") from inner
    except RuntimeError as outer:
        state: State[Any] = Failed(data=outer)

    outcome = outcome_from_state(pipeline, _flow_run_record(), state)

    assert (outcome.failed_stage, outcome.error) == ("retrieve", "no model")
    assert (outcome.job_id, outcome.deployment, outcome.model) == ("ftjob-9", "d2", None)


def test_outcome_of_completed_state_reads_the_result() -> None:
    result = {"job_id": "j", "fine_tuned_model": "m.ft-1", "deployment": "d", "smoke_verdict": "ok"}

    outcome = outcome_from_state(pipeline, _flow_run_record(), Completed(data=result))

    assert (outcome.job_id, outcome.model, outcome.deployment, outcome.smoke_verdict) == (
        "j",
        "m.ft-1",
        "d",
        "ok",
    )
    assert outcome.error is None


def test_hooks_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    run = _flow_run_record(request=_request(["any-block"]))
    not_a_flow: Any = object()  # a hook handed nonsense still returns, and says why

    hooks = notification_hooks()
    for kind in ("on_completion", "on_failure", "on_crashed", "on_cancellation"):
        hook = hooks[kind][0]
        hook(not_a_flow, run, Failed(message="x"))
        assert hook.__name__.startswith("notify_"), kind

    assert caplog.text.count("notification of run 'calm-otter' failed: AttributeError") == 4
