"""The local stack end to end, with real processes only.

``python -m deployments.stack up`` (Prefect server, emulator, setup, worker) under a temporary
root on free ports, ``prefect deploy --all`` from prefect.yaml, ``prefect
deployment run fine-tune/local --watch`` to Completed, its artifacts read back through the
Prefect client and shown by the Prefect UI in headless Chromium (Debian's ``chromium`` driven
by its ``chromedriver``; ``make test`` installs both), a failing run told to a real webhook by
the server's automation, and ``down`` leaving no process behind. Nothing here touches a
developer's own ``.prefect``, ``.emulator`` or ``.stack``, nor port 4200.
"""

from __future__ import annotations

import json
import os
import shutil
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
from prefect.client.schemas.objects import Artifact, FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver import Chrome, ChromeOptions
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from stack_support import (  # type: ignore[import-not-found, unused-ignore]
    deploy,
    running_stack,
    stack_command,
    stack_environment,
    stack_pids,
)
from webhook_receiver import Receiver  # type: ignore[import-not-found, unused-ignore]

from deployments._processes import group_alive

pytestmark = [pytest.mark.live, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
PARAMS = json.loads((REPO / "examples" / "emulator-params.json").read_text())
HOOK_PATH = "/stack-hook"
HOOK_TOKEN = "Bearer stack-t0ken-4711"
EVERY_DEPLOYMENT = {
    "fine-tune/prod",
    "fine-tune/local",
    "continuous-fine-tune/prod",
    "cleanup/prod",
    "rollback/prod",
}
ARTIFACTS = {"fine-tune-validation", "fine-tune-metrics", "fine-tune-curves", "smoke-test"}
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Headless, and nothing but the page under test on the network; the profile is per test.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
UI_SECONDS = 180.0  # per wait; all of them took 11 s on two idle cores, 104 s at load 14


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
        return dict(stack_pids(self.root))

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

    def run_ids(self) -> set[str]:
        """Every flow run the server holds, of any flow or deployment."""
        with self.client() as client:
            return {str(run.id) for run in client.read_flow_runs(limit=200)}

    def artifacts(self, run: FlowRun) -> dict[str, Artifact]:
        """The keyed artifacts of ``run`` (and of its task runs), by key."""
        with self.client() as client:
            artifacts = client.read_artifacts(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
            )
        return {artifact.key: artifact for artifact in artifacts if artifact.key}


@dataclass
class FinishedRun:
    """``prefect deployment run fine-tune/local --watch`` and the flow run it watched."""

    watched: subprocess.CompletedProcess[str]
    run: FlowRun


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
    base = stack_environment(tmp_path_factory.mktemp("stack")) | {
        "FTFLOW_WEBHOOK_URL": receiver.url + HOOK_PATH,
        "FTFLOW_WEBHOOK_AUTHORIZATION": HOOK_TOKEN,
    }
    with running_stack(base) as started:
        output = started.up.stdout + started.up.stderr
        yield Stack(root=started.root, env=started.env, up_output=output)


@pytest.fixture(scope="module")
def deployed(stack: Stack) -> Stack:
    """``prefect deploy --all``: every deployment of prefect.yaml, its schema enforced."""
    result = deploy(stack.env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with stack.client() as client:
        names = {f"{client.read_flow(d.flow_id).name}/{d.name}" for d in client.read_deployments()}
    assert names == EVERY_DEPLOYMENT
    return stack


@pytest.fixture(scope="module")
def finished_run(deployed: Stack) -> FinishedRun:
    """One run of ``fine-tune/local`` to its end, shared by the API and the UI test."""
    watched = deployed.run(
        "-m", "prefect", "deployment", "run", "fine-tune/local", "--watch", timeout=300
    )
    assert watched.returncode == 0, watched.stdout[-3000:] + watched.stderr[-3000:]
    return FinishedRun(watched=watched, run=deployed.latest_run())


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chrome]:
    """Headless Debian Chromium through its own chromedriver: no Selenium Manager download."""
    assert CHROMEDRIVER.is_file(), (
        f"{CHROMEDRIVER} is missing: `make test` installs it, or as root "
        "`apt-get install --no-install-recommends chromium chromium-driver`"
    )
    options = ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(UI_SECONDS)
        yield driver
    finally:
        driver.quit()


def _text(text: str) -> str:
    """An XPath test for an element whose whole visible text is ``text``."""
    assert "'" not in text, text
    return f"normalize-space()='{text}'"


def _shown(driver: Chrome, xpath: str, what: str, shot: Path) -> WebElement:
    """The visible element at ``xpath``; fails naming ``what`` (with a screenshot) if none."""
    try:
        found: WebElement = WebDriverWait(driver, UI_SECONDS).until(
            expected_conditions.visibility_of_element_located((By.XPATH, xpath))
        )
    except TimeoutException:
        driver.save_screenshot(str(shot))
        body = driver.find_element(By.TAG_NAME, "body").text
        pytest.fail(
            f"The Prefect UI at {driver.current_url} shows no {what} after {UI_SECONDS:.0f} s "
            f"(screenshot {shot}); the page reads: {body[:1500]!r}"
        )
    return found


def _full_page_screenshot(driver: Chrome, path: Path) -> None:
    """Grow the window to the page's scrolled height, then save it as PNG at ``path``.

    The UI scrolls an inner container, not the document, so the tallest scrollable element
    sets the height (capped at 8000 px).
    """
    height = driver.execute_script(
        """
        const scrollers = [...document.querySelectorAll('*')].filter(
            (e) => /(auto|scroll)/.test(getComputedStyle(e).overflowY));
        const hidden = scrollers.map((e) => e.scrollHeight - e.clientHeight);
        const page = document.documentElement.scrollHeight;
        return Math.max(page, window.innerHeight + Math.max(0, ...hidden))
            + window.outerHeight - window.innerHeight;
        """
    )
    driver.set_window_size(driver.get_window_size()["width"], min(int(height), 8000))
    assert driver.save_screenshot(str(path)), f"Chromium saved no screenshot to {path}"


def test_up_starts_each_part_once_and_twice_starts_nothing(stack: Stack) -> None:
    first = stack.pids()

    again = stack_command(stack.env, "up", "--port", "0")

    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert set(first) == {"server", "emulator", "worker"}
    assert stack.pids() == first
    status = stack_command(stack.env, "status")
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
    deployed: Stack, finished_run: FinishedRun
) -> None:
    run = finished_run.run

    assert "Flow run finished successfully in 'Completed'" in finished_run.watched.stdout
    assert run.state is not None
    assert run.state.is_completed()
    by_key = deployed.artifacts(run)
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


def test_prefect_ui_shows_the_finished_run_with_its_artifacts(
    deployed: Stack, finished_run: FinishedRun, browser: Chrome, tmp_path: Path
) -> None:
    run = finished_run.run
    keys = sorted(deployed.artifacts(run))
    page = f"{deployed.env['PREFECT_UI_URL']}/runs/flow-run/{run.id}"
    shot = tmp_path / "flow-run-artifacts.png"
    assert set(keys) >= ARTIFACTS  # what the page must show, read through the API

    try:
        browser.get(page)
    except WebDriverException as error:
        pytest.fail(f"Chromium could not open the Prefect UI at {page}: {error.msg}")
    heading = f"//header[.//*[{_text(str(run.name))}] and .//*[{_text('Completed')}]]"
    _shown(browser, heading, f"heading with run {run.name!r} and state Completed", shot)
    tab = _shown(browser, f"//*[@role='tablist']/*[{_text('Artifacts')}]", "Artifacts tab", shot)
    tab.click()
    for key in keys:
        _shown(browser, f"//*[@role='tabpanel']//*[{_text(key)}]", f"artifact {key!r}", shot)
    _full_page_screenshot(browser, shot)

    kept = deployed.root / "ui" / shot.name
    kept.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, kept)
    print(f"Prefect UI screenshot of flow run {run.name}: {kept}")
    assert shot.stat().st_size > 10_000, f"{shot} is too small to show the page"


def test_parameters_outside_the_schema_are_refused_before_any_run(deployed: Stack) -> None:
    request = PARAMS | {"n_epochs": 99}
    before = deployed.run_ids()

    refused = deployed.run(
        "-m",
        "prefect",
        "deployment",
        "run",
        "fine-tune/local",
        "--params",
        json.dumps({"request": request}),
    )

    said = refused.stdout + refused.stderr
    assert refused.returncode == 1, said
    assert "Validation failed for field 'request.n_epochs'" in said
    assert "99 is greater than the maximum of 50" in said
    assert deployed.run_ids() == before


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
        HOOK_PATH, lambda d: str(run.name) in d.payload["subject"], timeout=180
    )  # the worker names no block, so only the server tells, after its grace period
    assert delivery.payload["subject"].endswith(" Failed")
    assert delivery.headers["authorization"] == HOOK_TOKEN
    assert "no-such-file.jsonl" in delivery.payload["body"]


def test_down_stops_every_process_it_started(stack: Stack) -> None:
    pids = stack.pids()

    stopped = stack_command(stack.env, "down")
    again = stack_command(stack.env, "down")

    assert stopped.returncode == 0, stopped.stderr
    assert "worker          stopped (SIGINT)" in stopped.stdout
    assert not any(group_alive(pid) for pid in pids.values())
    assert _leftovers(stack.root) == []
    assert again.returncode == 0
    assert again.stdout.count("not running") == 3
    assert not (stack.root / ".stack" / "emulator.env").exists()
