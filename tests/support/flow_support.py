"""Support for running the real ``fine-tune`` flow against a real emulator.

The emulator runs on a thread of the test process with a fast scaled clock (a training job
takes a second or two), speaking HTTPS; the flow reads the emulator's printed settings from
the environment exactly as it would read Azure's.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

from emulator.config import EmulatorConfig, Timings, Tunables
from emulator.server import EmulatorServer

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun, State, TaskRun

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
BASE_MODEL = "gpt-4o-mini-2024-07-18"
FILES = "/openai/files"
JOBS = "/openai/fine_tuning/jobs"
ARM = "/subscriptions/"


@dataclass(frozen=True)
class Creates:
    """How many uploads, fine-tuning jobs and deployment writes the service carried out."""

    uploads: int
    jobs: int
    deployments: int


class Emulator:
    """A running emulator and its control API."""

    mode = "inprocess"
    """For :class:`emulator_harness.Harness`, which gives real clients for any running emulator."""

    def __init__(self, data_dir: Path, speed: float = 3000.0, **config: Any) -> None:
        tunables = Tunables(timings=Timings(lro_retry_after_ms=50))
        self._start(
            EmulatorConfig(
                data_dir=data_dir, port=0, clock="scaled", speed=speed, tunables=tunables, **config
            )
        )

    def _start(self, config: EmulatorConfig) -> None:
        self.data_dir = config.data_dir
        self._server = EmulatorServer(config).start()
        self.env: dict[str, str] = dict(self._server.environment)
        context = ssl.create_default_context(cafile=self.env["AZURE_OPENAI_CA_BUNDLE"])
        self._http = httpx2.Client(
            verify=context,
            base_url=self.env["AZURE_OPENAI_ENDPOINT"],
            headers={"api-key": self.env["AZURE_OPENAI_API_KEY"]},
            timeout=30,
        )

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, "/_emulator" + path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.control("POST", "/reset")

    def requests(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        """Requests the emulator applied or refused, filtered by method and path prefix."""
        found = self.control("GET", "/requests", params={"method": method})["data"]
        return [r for r in found if str(r["path"]).startswith(path_prefix)]

    def count(self, method: str, path_prefix: str, status: int | None = None) -> int:
        return sum(
            1
            for r in self.requests(method, path_prefix)
            if status is None or int(r["status"]) == status
        )

    def log(self, **filters: str | int) -> list[dict[str, Any]]:
        """The request log, oldest first, filtered like ``GET /_emulator/requests`` (``method``,
        ``path``, ``path_prefix``, ``status``, ``since``: a ``seq``)."""
        return list(self.control("GET", "/requests", params=filters)["data"])

    def applied(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        """Requests the emulator carried out (2xx, a dropped response included): refused ones
        (an injected 429 or 503, a 409) changed nothing."""
        return [r for r in self.requests(method, path_prefix) if 200 <= int(r["status"]) < 300]

    def creates(self) -> Creates:
        """The creates the service carried out, from the request log."""
        return Creates(
            uploads=len(self.applied("POST", FILES)),
            jobs=len(self.applied("POST", JOBS)),
            deployments=sum(
                1 for r in self.applied("PUT", ARM) if "/deployments/" in str(r["path"])
            ),
        )

    def fault(self, family: str = "", **rule: Any) -> Any:
        return self.control("POST", "/faults" + (f"/{family}" if family else ""), json=rule)

    def clear_faults(self) -> None:
        self.control("DELETE", "/faults")

    def stop(self) -> None:
        self._http.close()
        self._server.stop()


@contextmanager
def running_emulator(data_dir: Path, speed: float = 3000.0) -> Iterator[Emulator]:
    emulator = Emulator(data_dir, speed)
    try:
        yield emulator
    finally:
        emulator.stop()


@dataclass(frozen=True)
class Inventory:
    """What the service holds, as its API lists it (SDK models, typed ``Any`` as in
    ``emulator_harness``): fine-tune files, fine-tuning jobs, deployments."""

    files: list[Any]
    jobs: list[Any]
    deployments: list[Any]


def inventory(emulator: Emulator) -> Inventory:
    """List what ``emulator`` holds with the real SDK clients (built by the test harness, not
    by the pipeline); fault rules still installed may disturb the listing."""
    from emulator_harness import Harness  # type: ignore[import-not-found, unused-ignore]

    harness = Harness(emulator)
    try:
        data, arm = harness.azure(max_retries=2), harness.arm()
        return Inventory(
            files=list(data.files.list(purpose="fine-tune")),
            jobs=list(data.fine_tuning.jobs.list(limit=100)),
            deployments=list(arm.deployments.list(harness.group, harness.account)),
        )
    finally:
        harness.close()


@dataclass(frozen=True)
class Finished:
    """How a flow run ended: its final Prefect state, and what it returned or raised."""

    state: State[Any]
    value: Any


def run_to_state(request: Mapping[str, Any]) -> Finished:
    """Run the real ``fine-tune`` flow in this process on ``request`` (see `request_for`)."""
    from flows.fine_tune import fine_tune
    from ftflow.request import FineTuneRequest

    async def run() -> Finished:
        state = await fine_tune(FineTuneRequest.model_validate(request), return_state=True)
        return Finished(state, await state.aresult(raise_on_failure=False))

    return asyncio.run(run())


def flow_run_of(finished: Finished) -> FlowRun:
    """The Prefect flow run that ``finished`` describes, as the server has it."""
    from prefect.client.orchestration import get_client

    run_id = finished.state.state_details.flow_run_id
    assert run_id is not None, finished.state
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def task_runs_of(finished: Finished) -> list[TaskRun]:
    """The task runs of the flow run that ``finished`` describes, as the server has them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_id = finished.state.state_details.flow_run_id
    assert run_id is not None, finished.state
    with get_client(sync_client=True) as client:
        return client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )


def sample_copy(into: Path) -> tuple[Path, Path]:
    """The bundled sample dataset, copied where the test may change it."""
    into.mkdir(parents=True, exist_ok=True)
    train = shutil.copy(SAMPLE / "train.jsonl", into / "train.jsonl")
    valid = shutil.copy(SAMPLE / "validation.jsonl", into / "validation.jsonl")
    return Path(train), Path(valid)


def request_for(train: Path, valid: Path | None, **overrides: Any) -> dict[str, Any]:
    """Parameters of a short run on ``train``: the flow's ``request``."""
    request: dict[str, Any] = {
        "training_file": str(train),
        "validation_file": str(valid) if valid else None,
        "base_model": BASE_MODEL,
        "n_epochs": 2,
        "suffix": "support",
        "deployment_name": "support-assistant",
        "poll_interval_max_seconds": 0.5,
        "job_timeout_minutes": 5,
        "deploy_timeout_minutes": 2,
        "smoke_prompts": [
            {"name": "restore", "prompt": "How do I restore a deleted file?", "contains": []}
        ],
    }
    request.update(overrides)
    return request


def settings_env(env: Mapping[str, str]) -> dict[str, str]:
    """The emulator's printed settings that the pipeline reads (not the control URL)."""
    return {k: v for k, v in env.items() if k.startswith("AZURE_")}


def as_json(value: object) -> str:
    return json.dumps(value)


class ManualEmulator(Emulator):
    """An emulator whose clock moves only when told; :meth:`ticking` moves it steadily."""

    def __init__(self, data_dir: Path, **timings: Any) -> None:
        """``timings``: simulated durations other than the defaults (`emulator.config.Timings`),
        e.g. ``deployment_seconds=3000``."""
        tunables = Tunables(timings=Timings(lro_retry_after_ms=50, **timings))
        config = EmulatorConfig(data_dir=data_dir, port=0, clock="manual", tunables=tunables)
        self._start(config)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` at once."""
        self.control("POST", "/clock/advance", json={"seconds": seconds})

    def drive_until(
        self,
        done: Callable[[], bool],
        what: str,
        *,
        seconds: float = 30.0,
        every: float = 0.05,
        timeout: float = 120.0,
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        """Advance simulated time by ``seconds`` every ``every`` wall seconds until ``done()``
        (``seconds=0``: wait with the clock standing still); then the clock stands still. At
        most one step passes between ``done()`` becoming true and the return. ``alive()``
        false (the process under test ended) or ``timeout`` wall seconds fail naming
        ``what``, the awaited event."""
        deadline = time.monotonic() + timeout
        while not done():
            assert alive(), f"the flow ended before {what}"
            assert time.monotonic() < deadline, f"no {what} within {timeout} s"
            if seconds:
                self.advance(seconds)
            time.sleep(every)

    @contextmanager
    def ticking(self, seconds: float = 30.0, every: float = 0.05) -> Iterator[None]:
        """Advance simulated time by ``seconds`` every ``every`` wall seconds, meanwhile."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(every):
                self.control("POST", "/clock/advance", json={"seconds": seconds})

        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


@contextmanager
def pipeline_environment(
    emulator: Emulator,
    monkeypatch: Any,
    results: Path,
    receiver: Any,
    block: str,
    test_name: str,
) -> Iterator[str]:
    """An emptied emulator, its settings in the environment, fresh Prefect result storage,
    and the webhook block ``block`` (named in ``FTFLOW_NOTIFY_BLOCKS``) posting to this
    test's own path on ``receiver``; yields that path (also in ``WEBHOOK_PATH``)."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    from deployments.notifications import ensure_webhook_block

    emulator.reset()
    emulator.clear_faults()
    for name, value in settings_env(emulator.env).items():
        monkeypatch.setenv(name, value)
    path = "/" + test_name.replace("_", "-")[:60]
    ensure_webhook_block(block, receiver.url + path)
    monkeypatch.setenv("FTFLOW_NOTIFY_BLOCKS", json.dumps([block]))
    monkeypatch.setenv("WEBHOOK_PATH", path)
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: results}):
        yield path
