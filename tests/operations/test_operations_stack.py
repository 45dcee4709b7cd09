"""The local stack end to end, with real processes only.

``python -m deployments.stack up`` (Prefect server, emulator, setup, worker) under a temporary
root on free ports, ``prefect deploy`` of ``fine-tune/local`` from prefect.yaml, ``prefect
deployment run fine-tune/local --watch`` to Completed, its artifacts read back through the
Prefect client, a failing run told to a real webhook by the server's automation, and
``down`` leaving no process behind. Nothing here touches a developer's own ``.prefect``,
``.emulator`` or ``.stack``, nor port 4200.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from webhook_receiver import Receiver  # type: ignore[import-not-found, unused-ignore]

from deployments._processes import group_alive

pytestmark = [pytest.mark.live, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
PARAMS = json.loads((REPO / "examples" / "emulator-params.json").read_text())
HOOK_PATH = "/stack-hook"
HOOK_TOKEN = "Bearer stack-t0ken-4711"
ARTIFACTS = {"fine-tune-validation", "fine-tune-metrics", "fine-tune-curves", "smoke-test"}


@dataclass
class Stack:
    """The running stack: its state root and a client environment for subprocesses."""

    root: Path
    env: dict[str, str]
    up_output: str

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` from the repository with the stack's client settings."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def api_url(self) -> str:
        return self.env["PREFECT_API_URL"]

    def pids(self) -> dict[str, int]:
        return {
            path.stem: int(path.read_text())
            for path in sorted((self.root / ".stack").glob("*.pid"))
        }

    def client(self) -> SyncPrefectClient:
        return SyncPrefectClient(self.api_url)

    def latest_run(self) -> FlowRun:
        with self.client() as client:
            deployment = client.read_deployment_by_name("fine-tune/local")
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=1,
            )
        return runs[0]


def _base_env(root: Path, receiver: Receiver) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AZURE_"))}
    return env | {
        "FTFLOW_STACK_ROOT": str(root),
        "FTFLOW_WEBHOOK_URL": receiver.url + HOOK_PATH,
        "FTFLOW_WEBHOOK_AUTHORIZATION": HOOK_TOKEN,
    }


def _stack_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deployments.stack", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _leftovers(root: Path) -> list[str]:
    """Processes whose command line or environment mentions ``root``: none may survive."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(root).encode() in text:
            found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:200]!r}")
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    base = _base_env(root, receiver)
    started = _stack_command(base, "up", "--port", "0")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        exported = _stack_command(base, "env")
        assert exported.returncode == 0, exported.stderr
        env = dict(base)
        for line in exported.stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
        yield Stack(root=root, env=env, up_output=started.stdout + started.stderr)
    finally:
        _stack_command(base, "down")
        for pid in _pids_left(root):
            os.killpg(pid, signal.SIGKILL)  # only if down failed: never leak into the suite


def _pids_left(root: Path) -> list[int]:
    pids = [int(p.read_text()) for p in (root / ".stack").glob("*.pid")]
    return [pid for pid in pids if group_alive(pid)]


@pytest.fixture(scope="module")
def deployed(stack: Stack) -> Stack:
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--name", "fine-tune/local"],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return stack


def test_up_starts_each_part_once_and_twice_starts_nothing(stack: Stack) -> None:
    first = stack.pids()

    again = _stack_command(stack.env, "up", "--port", "0")

    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert set(first) == {"server", "emulator", "worker"}
    assert stack.pids() == first
    status = _stack_command(stack.env, "status")
    assert status.returncode == 0
    assert "(healthy)" in status.stdout


def test_up_keeps_secrets_out_of_output_and_logs(stack: Stack) -> None:
    settings = (stack.root / ".stack" / "emulator.env").read_text()
    secrets = [
        line.partition("=")[2]
        for line in settings.splitlines()
        if line.startswith(("AZURE_OPENAI_API_KEY=", "AZURE_CLIENT_SECRET="))
    ]

    assert len(secrets) == 2
    assert (stack.root / ".stack" / "emulator.env").stat().st_mode & 0o777 == 0o600
    assert (stack.root / ".stack").stat().st_mode & 0o777 == 0o700
    shown = [stack.up_output, (stack.root / ".stack" / "prefect.env").read_text()]
    shown += [log.read_text() for log in (stack.root / ".stack").glob("*.log")]
    for secret in [*secrets, HOOK_TOKEN.split()[1]]:
        assert all(secret not in text for text in shown)


def test_deployment_run_completes_with_artifacts_readable_through_the_api(
    deployed: Stack,
) -> None:
    watched = deployed.run(
        "-m", "prefect", "deployment", "run", "fine-tune/local", "--watch", timeout=300
    )

    assert watched.returncode == 0, watched.stdout[-3000:] + watched.stderr[-3000:]
    assert "Flow run finished successfully in 'Completed'" in watched.stdout
    run = deployed.latest_run()
    assert run.state is not None
    assert run.state.is_completed()
    with deployed.client() as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
    by_key = {artifact.key: artifact for artifact in artifacts if artifact.key}
    assert set(by_key) >= ARTIFACTS
    smoke = json.loads(str(by_key["smoke-test"].data))
    assert [row["verdict"] for row in smoke] == ["pass", "pass"]
    assert "base answer" in smoke[0]
    assert "Training curves" in str(by_key["fine-tune-curves"].description)
    report = deployed.run("-m", "deployments.report", "fine-tune/local")
    assert report.returncode == 0, report.stderr
    assert f"{run.name}: Completed" in report.stdout
    assert "Deployment  support-assistant" in report.stdout
    assert "Smoke test  passed (2/2 prompts)" in report.stdout
    assert f"Model       {PARAMS['base_model']}.ft-" in report.stdout


def test_parameters_outside_the_schema_are_refused_before_any_run(deployed: Stack) -> None:
    request = PARAMS | {"n_epochs": 99}

    refused = deployed.run(
        "-m",
        "prefect",
        "deployment",
        "run",
        "fine-tune/local",
        "--params",
        json.dumps({"request": request}),
    )

    assert refused.returncode != 0
    assert "99" in refused.stdout + refused.stderr


def test_failed_run_is_told_by_the_server_automation(deployed: Stack, receiver: Receiver) -> None:
    request = PARAMS | {"training_file": "data/sample/no-such-file.jsonl"}

    watched = deployed.run(
        "-m",
        "prefect",
        "deployment",
        "run",
        "fine-tune/local",
        "--params",
        json.dumps({"request": request}),
        "--watch",
        timeout=300,
    )

    assert watched.returncode == 1
    assert "Flow run finished in state 'Failed'" in watched.stdout + watched.stderr
    run = deployed.latest_run()
    delivery = receiver.wait_for(
        HOOK_PATH, lambda d: str(run.name) in d.payload["subject"], timeout=60
    )
    assert delivery.payload["subject"].endswith(" Failed")
    assert delivery.headers["authorization"] == HOOK_TOKEN
    assert "no-such-file.jsonl" in delivery.payload["body"]


def test_down_stops_every_process_it_started(stack: Stack) -> None:
    pids = stack.pids()

    stopped = _stack_command(stack.env, "down")
    again = _stack_command(stack.env, "down")

    assert stopped.returncode == 0, stopped.stderr
    assert "worker          stopped (SIGINT)" in stopped.stdout
    assert not any(group_alive(pid) for pid in pids.values())
    assert _leftovers(stack.root) == []
    assert again.returncode == 0
    assert again.stdout.count("not running") == 3
    assert not (stack.root / ".stack" / "emulator.env").exists()
