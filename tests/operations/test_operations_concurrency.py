"""Twenty ``fine-tune`` runs started at once against one emulated Azure OpenAI resource.

``python -m deployments.stack up --workers 2`` under a temporary root: a Prefect server, the
emulator with Azure's job limits (one job trains at a time, twenty may queue) on a fast clock,
``deployments.setup`` (pools, automations, the ``azure-training-<account>`` and
``azure-files-<account>`` global concurrency limits) and two process workers on the pool
``ftflow-local``. ``prefect deploy`` of ``fine-tune/local``, then twenty flow runs created in
one burst through the API, each with its own suffix and deployment name; five runs share each
of four training files and all twenty share one validation file.

The server's database is a throwaway PostgreSQL cluster (``postgres_server``; the README's
production setup). On SQLite this burst fails: measured twice, the server logged "database is
locked" 36 and 48 times (worker heartbeats, state inserts, automation buckets), answered 503
to the concurrent run creations until the client gave up, and dead-lettered automation events.

"None duplicated" means, checked on the service (the emulator's request log and listings)
and on the Prefect API once every run has ended:

* each flow run ran once (one worker took it, one Running transition) and Completed;
* each distinct file content was uploaded once (five uploads, not forty);
* each distinct job request created exactly one job (twenty), each deployment name was
  written once and serves its own run's model;
* no job was created before the previous one had finished (the training slot held from
  submit to the job's end), so Azure's queue never filled (no 429);
* both concurrency limits are back at zero active slots, and every run and its states are rows
  of the PostgreSQL database (no SQLite database was made).

The measured burst (wall time, runs per minute) is printed: ``pytest -s`` shows it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from emulator_harness import Harness  # type: ignore[import-not-found, unused-ignore]
from postgres_server import Postgres, running_postgres  # type: ignore[import-not-found, unused-ignore]
from prefect.client.orchestration import PrefectClient, SyncPrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from stack_support import (  # type: ignore[import-not-found, unused-ignore]
    deploy,
    running_stack,
    stack_command,
    stack_environment,
    stack_pids,
)

from deployments._processes import group_alive
from deployments._stack_parts import read_env

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
BASE_MODEL = "gpt-4o-mini-2024-07-18"
RUNS = 20
DATASETS = 4
"""Training files: five runs share each, so concurrent runs race to upload the same content."""
SPEED = 6000.0
"""Emulator clock: a one-epoch job on the sample data (~700 simulated s) takes ~0.1 s."""
RUNS_SECONDS = 600.0
"""How long the burst may take before the test gives up (it takes ~2 minutes here)."""
JOBS = "/openai/fine_tuning/jobs"
FILES = "/openai/files"
_SUBMITTING = re.compile(r"Worker '([^']+)' submitting flow run '([0-9a-f-]{36})'")
_ABORTED = re.compile(r"Aborted submission of flow run '([0-9a-f-]{36})'")


@dataclass
class StackEmulator:
    """The stack's emulator as `emulator_harness.Harness` sees a server (not ours to stop)."""

    env: dict[str, str]
    data_dir: Path
    mode: str = "live"

    def stop(self) -> None:
        """The stack's ``down`` stops it."""


@dataclass
class ScaleStack:
    """The running stack: state root, client environment, the emulator's harness."""

    root: Path
    env: dict[str, str]
    harness: Harness
    up_output: str
    database_password: str
    setup_seconds: float

    @property
    def api_url(self) -> str:
        return self.env["PREFECT_API_URL"]

    @property
    def account(self) -> str:
        return str(self.harness.account)

    def pids(self) -> dict[str, int]:
        return dict(stack_pids(self.root))

    def log(self, name: str) -> str:
        return (self.root / ".stack" / f"{name}.log").read_text(errors="replace")


@dataclass
class Burst:
    """The twenty runs, as the API reports them once all have ended, and their timing."""

    requests: dict[str, dict[str, Any]]
    """Each run's ``request`` parameter, by run name (``scale-00`` …)."""
    runs: list[FlowRun]
    seconds: float
    """From the first run's creation to the last one's end, on the server's clock."""
    by_worker: dict[str, list[str]] = field(default_factory=dict)
    """Flow run ids each worker started (submitted and not aborted)."""


def _datasets(into: Path) -> list[Path]:
    """`DATASETS` training files, each the sample minus a different example."""
    lines = (SAMPLE / "train.jsonl").read_text().splitlines(keepends=True)
    paths = []
    for index in range(DATASETS):
        path = into / f"train-{index}.jsonl"
        path.write_text("".join(lines[:index] + lines[index + 1 :]))
        paths.append(path)
    return paths


def _request(index: int, train: Path, validation: Path) -> dict[str, Any]:
    name = f"scale-{index:02d}"
    return {
        "training_file": str(train),
        "validation_file": str(validation),
        "base_model": BASE_MODEL,
        "n_epochs": 1,
        "suffix": name,
        "deployment_name": name,
        "base_deployment": "gpt-4o-mini-base",
        "poll_interval_max_seconds": 0.5,
        "job_timeout_minutes": 30,
        "deploy_timeout_minutes": 10,
        "smoke_prompts": [
            {"name": "restore", "prompt": "How do I restore a deleted file?", "contains": []}
        ],
    }


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """The server's database: SQLite locks under this load (see the module docstring)."""
    with running_postgres() as running:
        yield running


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres) -> Iterator[ScaleStack]:
    base = stack_environment(tmp_path_factory.mktemp("scale"))
    base["FTFLOW_STACK_DATABASE_URL"] = postgres.url  # in the environment: not in argv
    started = time.monotonic()
    with running_stack(base, "--workers", "2", "--speed", str(SPEED)) as stack:
        root, env, up = stack.root, stack.env, stack.up
        print(f"\n$ python -m deployments.stack up --workers 2\n{up.stdout}", end="")
        settings = read_env(root / ".stack" / "emulator.env")
        harness = Harness(StackEmulator(settings, root / ".emulator"))
        try:
            # Azure's job limits stay (1 running, 20 queued). Its 5 fine-tuned deployments per
            # resource would refuse runs 6-20, each deploying its own model under its own name
            # so the test can tell them apart; real operators spread them over resources or
            # retire old ones, and tests/emulator covers the quota itself. The LRO poll is
            # shortened to match the fast clock.
            harness.settings(
                limits={"max_fine_tuned_deployments": RUNS}, timings={"lro_retry_after_ms": 100}
            )
            deployed = deploy(env, timeout=300, names=("fine-tune/local",))
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            password = urlsplit(postgres.url).password or ""
            output = up.stdout + up.stderr
            yield ScaleStack(root, env, harness, output, password, time.monotonic() - started)
        finally:
            harness.close()


async def _create_all(
    api_url: str, requests: dict[str, dict[str, Any]]
) -> tuple[list[FlowRun], float]:
    """Create every run in one burst (concurrent API calls); also the time it took."""
    async with PrefectClient(api_url) as client:
        deployment = await client.read_deployment_by_name("fine-tune/local")
        started = time.monotonic()
        runs = await asyncio.gather(
            *(
                client.create_flow_run_from_deployment(
                    deployment.id,
                    parameters={"request": request},
                    name=name,
                    idempotency_key=f"scale-test-{name}",
                )
                for name, request in requests.items()
            )
        )
        return list(runs), time.monotonic() - started


def _wait_all_final(client: SyncPrefectClient, ids: list[Any], timeout: float) -> list[FlowRun]:
    deadline = time.monotonic() + timeout
    while True:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
        )
        if len(runs) == len(ids) and all(r.state is not None and r.state.is_final() for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = Counter(r.state.name if r.state else "None" for r in runs)
            pytest.fail(f"after {timeout:.0f} s the runs are {dict(states)}")
        time.sleep(2.0)


def _started_by_worker(stack: ScaleStack) -> dict[str, list[str]]:
    """Which flow runs each worker started, from the workers' logs."""
    started: dict[str, list[str]] = {}
    for log in sorted((stack.root / ".stack").glob("worker*.log")):
        text = log.read_text(errors="replace")
        aborted = set(_ABORTED.findall(text))
        for worker, run_id in _SUBMITTING.findall(text):
            if run_id not in aborted:
                started.setdefault(worker, []).append(run_id)
    return started


def test_up_again_finds_both_workers_and_starts_nothing(scale: ScaleStack) -> None:
    first = scale.pids()

    again = stack_command(scale.env, "up", "--port", "0", "--workers", "2")
    status = stack_command(scale.env, "status")

    assert set(first) == {"server", "emulator", "worker", "worker-2"}
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert scale.pids() == first
    assert "worker-2        running" in status.stdout
    assert "PostgreSQL 127.0.0.1:" in scale.up_output


def test_database_password_stays_out_of_output_logs_and_command_lines(scale: ScaleStack) -> None:
    shown = [scale.up_output, (scale.root / ".stack" / "prefect.env").read_text()]
    shown += [log.read_text(errors="replace") for log in (scale.root / ".stack").glob("*.log")]
    shown += [
        (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
        for pid in scale.pids().values()
    ]

    assert len(scale.database_password) >= 20
    assert [text for text in shown if scale.database_password in text] == []


@pytest.fixture(scope="module")
def burst(scale: ScaleStack, tmp_path_factory: pytest.TempPathFactory) -> Burst:
    data = tmp_path_factory.mktemp("scale-data")
    trains = _datasets(data)
    validation = data / "validation.jsonl"
    validation.write_text((SAMPLE / "validation.jsonl").read_text())
    requests = {
        f"scale-{i:02d}": _request(i, trains[i % DATASETS], validation) for i in range(RUNS)
    }
    created, create_seconds = asyncio.run(_create_all(scale.api_url, requests))
    with SyncPrefectClient(scale.api_url) as client:
        runs = _wait_all_final(client, [run.id for run in created], RUNS_SECONDS)
    starts = [run.created for run in runs if run.created is not None]
    ends = [run.end_time for run in runs if run.end_time is not None]
    seconds = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    result = Burst(requests, runs, seconds, _started_by_worker(scale))
    per_worker = {worker: len(ids) for worker, ids in result.by_worker.items()}
    print(
        f"\n{RUNS} fine-tune runs created in {create_seconds:.2f} s, all ended "
        f"{seconds:.1f} s after the first was created: {RUNS / seconds * 60:.1f} runs/minute "
        f"(stack up + deploy took {scale.setup_seconds:.1f} s; runs per worker {per_worker})"
    )
    return result


def test_every_run_completes_once_on_one_worker(burst: Burst) -> None:
    states = {str(run.name): run.state.name if run.state else None for run in burst.runs}
    started = [run_id for ids in burst.by_worker.values() for run_id in ids]

    assert states == dict.fromkeys(burst.requests, "Completed")
    assert {str(run.name): run.run_count for run in burst.runs} == dict.fromkeys(burst.requests, 1)
    # Both workers see the same scheduled runs; only the one whose Pending the server accepts
    # starts a run (how many each takes depends on timing, so it is printed, not asserted).
    assert sorted(started) == sorted(str(run.id) for run in burst.runs)
    assert set(burst.by_worker) <= {"ftflow-local-worker", "ftflow-local-worker-2"}


def test_each_file_content_is_uploaded_once(scale: ScaleStack, burst: Burst) -> None:
    uploads = scale.harness.requests(method="POST", path=FILES)
    files = scale.harness.azure().files.list(purpose="fine-tune")
    names = Counter(f.filename for f in files)

    assert [int(r["status"]) for r in uploads] == [201] * (DATASETS + 1)
    assert len(names) == DATASETS + 1
    assert set(names.values()) == {1}
    assert all(f.status == "processed" for f in files)


def test_each_request_trains_one_job_and_jobs_never_overlap(
    scale: ScaleStack, burst: Burst
) -> None:
    creates = scale.harness.requests(method="POST", path=JOBS)
    jobs = sorted(
        scale.harness.azure().fine_tuning.jobs.list(limit=100), key=lambda job: job.created_at
    )
    overlaps = [
        f"{later.id} created at {later.created_at}, before {earlier.id} finished "
        f"at {earlier.finished_at}"
        for earlier, later in itertools.pairwise(jobs)
        if later.created_at < earlier.finished_at
    ]

    assert [int(r["status"]) for r in creates] == [201] * RUNS
    assert sorted(job.suffix for job in jobs) == sorted(burst.requests)
    assert {job.status for job in jobs} == {"succeeded"}
    assert overlaps == []
    assert scale.harness.requests(status="429") == []


def test_each_run_deploys_its_own_model_once(scale: ScaleStack, burst: Burst) -> None:
    models = {
        job.suffix: job.fine_tuned_model
        for job in scale.harness.azure().fine_tuning.jobs.list(limit=100)
    }
    arm = scale.harness.arm()
    served = {
        d.name: (d.properties.model.name, d.properties.provisioning_state)
        for d in arm.deployments.list(scale.harness.group, scale.harness.account)
        if d.name in burst.requests
    }
    writes = Counter(
        str(r["path"]).rpartition("/")[2]
        for r in scale.harness.requests(method="PUT")
        if "/deployments/scale-" in str(r["path"])
    )

    assert served == {name: (models[name], "Succeeded") for name in burst.requests}
    assert writes == dict.fromkeys(burst.requests, 1)


def test_concurrency_limits_hold_no_slot_afterwards(scale: ScaleStack, burst: Burst) -> None:
    names = [f"azure-training-{scale.account}", f"azure-files-{scale.account}"]

    with SyncPrefectClient(scale.api_url) as client:
        limits = {name: client.read_global_concurrency_limit_by_name(name) for name in names}

    slots = {name: (limit.limit, limit.active_slots) for name, limit in limits.items()}
    assert slots == dict.fromkeys(names, (1, 0))


async def _postgres_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """``sql``'s rows, read straight from the PostgreSQL database at ``url``."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


def test_server_keeps_every_run_in_postgresql_and_nothing_in_sqlite(
    scale: ScaleStack, postgres: Postgres, burst: Burst
) -> None:
    """The stack handed the database URL to the server (not SQLite's default in PREFECT_HOME):
    every run and its state history are rows of the PostgreSQL database."""
    names = sorted(str(run.name) for run in burst.runs)
    rows = asyncio.run(
        _postgres_rows(
            postgres.url,
            "SELECT r.name, count(s.id) FROM flow_run r JOIN flow_run_state s"
            " ON s.flow_run_id = r.id WHERE r.name LIKE 'scale-%' GROUP BY r.name ORDER BY r.name",
        )
    )
    sqlite = [path for path in scale.root.rglob("*.db") if path.stat().st_size > 0]

    assert [name for name, _ in rows] == names
    assert all(states >= 4 for _, states in rows), rows  # scheduled … running, completed
    assert sqlite == []
    assert "database is locked" not in scale.log("server")


def test_down_stops_both_workers(scale: ScaleStack, burst: Burst) -> None:
    pids = scale.pids()

    stopped = stack_command(scale.env, "down")

    assert set(pids) == {"server", "emulator", "worker", "worker-2"}
    assert stopped.returncode == 0, stopped.stderr
    assert "worker-2        stopped (SIGINT)" in stopped.stdout
    assert not any(group_alive(pid) for pid in pids.values())
