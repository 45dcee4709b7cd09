"""SIGKILL the ``fine-tune`` flow process at seeded random points, then run the flow again:
the machinery of ``test_chaos_kills_seeds_*.py``, each of which runs half of the `SEEDS` (two
modules, so that ``make test``'s parallel workers run the halves at the same time).

Each seed draws where to kill (during the uploads, right after the job create was applied,
while the job is being polled, while the deployment is still Creating) and a step and a delay
within that point. The emulator's clock is manual and moves only while the test waits for the
kill point, so the service stands still from then on and the point is hit as drawn.

After each kill the flow runs again, in this process, with the killed run's result storage.
It must end Completed, and the emulator's request log must show one upload per content, one
job and one deployment write. Nobody but the Prefect server can tell of the killed run: its
heartbeat stops, the zombie automation marks it Crashed, and the crash automation posts to the
webhook receiver (``deployments.notifications``, as ``deployments.setup`` installs them).

Only the flow processes that are killed send heartbeats (every 30 s, Prefect's minimum); the
re-runs in this process send none, so however slow the machine, no live run can be taken for
dead. The server waits three heartbeats (90 s) of silence before it marks a run Crashed, so a
flow process whose heartbeat is late on a busy machine is not taken for dead before its kill
either. The schedules run once, one after the other, in the module's ``kills`` fixture, and
each seed's test then checks its own: by the time the later seeds are checked, the earlier
seeds' notifications have long arrived.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flow_process import FlowProcess, flow_environment  # type: ignore[import-not-found, unused-ignore]
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    ARM,
    FILES,
    JOBS,
    Creates,
    Finished,
    Inventory,
    ManualEmulator,
    inventory,
    pipeline_environment,
    request_for,
    run_to_state,
    sample_copy,
)
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import (
    PREFECT_RESULTS_LOCAL_STORAGE_PATH,
    temporary_settings,
)

from deployments.notifications import (
    crash_automation_name,
    ensure_crash_automation,
    ensure_zombie_automation,
    zombie_automation_name,
)
from deployments.setup import NOTIFY_STATES

FLOW = "fine-tune"
BLOCK = "chaos-kills"
SEEDS = tuple(range(20))
"""Every seed drawn; each test module runs a slice of them."""
POINTS = ("upload", "job_created", "polling", "deployment")
MAX_STEP = {"upload": 5, "job_created": 1, "polling": 3, "deployment": 4}
"""upload: the n-th request on the files routes after the first lookup (1: the first upload's
POST; then its processing polls, the second file's lookup, its POST); polling: the n-th poll
of the job; deployment: the n-th poll of the deployment's long-running operation."""
HEARTBEAT_SECONDS = 30
"""Prefect's minimum heartbeat interval, for the flow processes that are killed (only)."""
ZOMBIE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
"""Silence after which the zombie automation marks a run Crashed: three missed heartbeats."""
NOTIFY_GRACE = timedelta(seconds=10)
"""How long the crash automation waits for a run's own notification (a killed run sends none)."""
TIMINGS = {
    "file_pending_seconds": 0.0,
    "file_processing_seconds": 0.0,
    "file_processing_seconds_per_mb": 0.0,
    "deployment_seconds": 3000.0,
}
"""Uploads are processed at once, so runs do not wait on them (except where the kill is drawn
during the uploads: `UPLOAD_TIMINGS`); deployments take 50 simulated minutes, so the clock can
move in large steps towards the deployment write and still stop long before it is ready."""
UPLOAD_TIMINGS = {"file_pending_seconds": 2.0, "file_processing_seconds": 8.0}
"""Where the kill is drawn during the uploads, processing takes time again: with the clock
stopped, the flow keeps waiting on the upload in progress until it is killed."""
TOLD_WITHIN = 180.0
"""Wall seconds a killed run's notification may take, counted from the check."""


@dataclass(frozen=True)
class Schedule:
    """Where one seed kills the flow process."""

    seed: int
    point: str
    step: int
    delay: float
    """Wall seconds from the awaited request to SIGKILL."""
    trained: float
    """polling: simulated seconds the job trains before the polls are counted."""

    @classmethod
    def drawn(cls, seed: int) -> Schedule:
        rng = random.Random(seed)
        point = rng.choice(POINTS)
        step = rng.randint(1, MAX_STEP[point])
        return cls(seed, point, step, round(rng.uniform(0.0, 0.3), 2), rng.uniform(0.0, 480.0))


@dataclass
class Outcome:
    """What one seed's kill and re-run left behind, read from the emulator and the server."""

    schedule: Schedule
    training_file: Path
    exit_status: int | None = None
    killed_run: FlowRun | None = None
    at_kill: Creates | None = None
    held_at_kill: Inventory | None = None
    rerun: Finished | None = None
    after: Creates | None = None
    held: Inventory | None = None
    error: BaseException | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Kills:
    """Every seed's outcome, and the receiver path the notifications went to."""

    outcomes: dict[int, Outcome]
    path: str


def _polls_of_the_job(record: dict[str, Any]) -> bool:
    rest = str(record["path"]).removeprefix(JOBS + "/")
    return record["method"] == "GET" and rest.startswith("ftjob-") and "/" not in rest


def _polls_of_the_operation(record: dict[str, Any]) -> bool:
    return record["method"] == "GET" and "/operationStatuses/" in str(record["path"])


def _deployment_writes(emulator: ManualEmulator) -> list[dict[str, Any]]:
    return [r for r in emulator.applied("PUT", ARM) if "/deployments/" in str(r["path"])]


def _drive_to_the_kill(emulator: ManualEmulator, child: FlowProcess, plan: Schedule) -> None:
    """Move the emulator's clock until the drawn point is reached, then stop it."""
    alive = child.alive
    if plan.point == "upload":
        emulator.drive_until(
            lambda: len(emulator.log(path_prefix=FILES)) > plan.step,
            f"request {plan.step} on {FILES} after the first lookup",
            seconds=2.5,  # a quarter of a file's processing: it never finishes unseen
            alive=alive,
        )
    elif plan.point in ("job_created", "polling"):
        emulator.drive_until(lambda: bool(emulator.applied("POST", JOBS)), "the job", alive=alive)
        if plan.point == "polling":
            created = emulator.applied("POST", JOBS)[0]["seq"]
            emulator.advance(plan.trained)
            emulator.drive_until(
                lambda: sum(map(_polls_of_the_job, emulator.log(since=created))) >= plan.step,
                f"poll {plan.step} of the job",
                seconds=0,
                alive=alive,
            )
    else:
        emulator.drive_until(
            lambda: bool(_deployment_writes(emulator)),
            "the deployment write",
            seconds=120.0,
            alive=alive,
        )
        written = _deployment_writes(emulator)[0]["seq"]
        emulator.drive_until(
            lambda: sum(map(_polls_of_the_operation, emulator.log(since=written))) >= plan.step,
            f"poll {plan.step} of the deployment operation",
            seconds=0,
            alive=alive,
        )
    time.sleep(plan.delay)


def _run_of(training_file: Path) -> FlowRun:
    """The one ``fine-tune`` run on ``training_file`` the server knows of (the killed one)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=20,
        )
    mine = [
        run
        for run in runs
        if (run.parameters.get("request") or {}).get("training_file") == str(training_file)
    ]
    assert len(mine) == 1, [(run.name, run.state_name) for run in mine]
    return mine[0]


def _kill_and_rerun(
    emulator: ManualEmulator, child: FlowProcess, outcome: Outcome, request: dict[str, Any]
) -> None:
    emulator.reset()
    if outcome.schedule.point == "upload":
        emulator.control("PATCH", "/settings", json={"timings": UPLOAD_TIMINGS})
    child.start()
    try:
        _drive_to_the_kill(emulator, child, outcome.schedule)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- the flow process said ---\n{child.output()}") from None
    finally:
        outcome.exit_status = child.kill()
    outcome.at_kill = emulator.creates()
    outcome.held_at_kill = inventory(emulator)
    outcome.killed_run = _run_of(outcome.training_file)
    results = child.log.parent / "results"
    with (
        temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: results}),
        emulator.ticking(seconds=300.0),
    ):
        outcome.rerun = run_to_state(request)
    outcome.after = emulator.creates()
    outcome.held = inventory(emulator)


def _prepared(root: Path, seed: int) -> tuple[FlowProcess, Outcome, dict[str, Any]]:
    """Seed ``seed``'s data, request and flow process (started, its run not yet begun)."""
    place = root / f"seed-{seed}"
    train, valid = sample_copy(place / "data")
    request = request_for(train, valid)
    env = flow_environment(
        place / "results", PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(HEARTBEAT_SECONDS)
    )
    child = FlowProcess(request, env, place / "flow-process.log")
    return child, Outcome(Schedule.drawn(seed), train), request


def _run_every_schedule(
    emulator: ManualEmulator, root: Path, seeds: Sequence[int]
) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    upcoming = _prepared(root, seeds[0])
    try:
        for index in range(len(seeds)):
            child, outcome, request = upcoming
            outcomes[outcome.schedule.seed] = outcome
            if index + 1 < len(seeds):
                # The next process imports while this seed runs: the imports take seconds.
                upcoming = _prepared(root, seeds[index + 1])
            try:
                _kill_and_rerun(emulator, child, outcome, request)
            except Exception as error:
                outcome.error = error
    finally:
        upcoming[0].kill()
    return outcomes


@contextmanager
def _server_telling_of_dead_runs() -> Iterator[None]:
    """The crash and zombie automations for ``fine-tune`` runs, as ``deployments.setup``
    makes them (but a zombie silence of `ZOMBIE_WITHIN`), removed afterwards: the Prefect
    server is shared with the rest of the session."""
    try:
        ensure_crash_automation([BLOCK], FLOW, states=NOTIFY_STATES, grace=NOTIFY_GRACE)
        ensure_zombie_automation(FLOW, within=ZOMBIE_WITHIN)
        yield
    finally:
        with get_client(sync_client=True) as client:
            for name in (crash_automation_name(FLOW), zombie_automation_name(FLOW)):
                for automation in client.read_automations_by_name(name):
                    client.delete_automation(automation.id)


@contextmanager
def running_kills(
    seeds: Sequence[int], receiver: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kills]:
    """Kill and re-run each of ``seeds`` in turn, with the server telling of the dead runs;
    the outcomes, while the automations still stand (for the notifications still to come)."""
    root = tmp_path_factory.mktemp("chaos-kills")
    emulator = ManualEmulator(root / "emulator", **TIMINGS)
    try:
        with (
            pytest.MonkeyPatch.context() as monkeypatch,
            pipeline_environment(
                emulator, monkeypatch, root / "results", receiver, BLOCK, "chaos_kills"
            ) as path,
            _server_telling_of_dead_runs(),
        ):
            yield Kills(_run_every_schedule(emulator, root, seeds), path)
    finally:
        emulator.stop()


def _killed_where_drawn(outcome: Outcome) -> None:
    plan, at_kill, held = outcome.schedule, outcome.at_kill, outcome.held_at_kill
    assert outcome.exit_status == -9
    assert at_kill is not None
    assert held is not None
    if plan.point == "upload":
        assert at_kill.uploads <= 2
        assert at_kill.jobs == 0
    elif plan.point in ("job_created", "polling"):
        assert (at_kill.uploads, at_kill.jobs, at_kill.deployments) == (2, 1, 0)
        assert [job.status for job in held.jobs] in (["pending"], ["running"])
    else:
        assert at_kill == Creates(uploads=2, jobs=1, deployments=1)
        assert [d.properties.provisioning_state for d in held.deployments] == ["Creating"]


def check_killed_and_resumed(seed: int, kills: Kills, receiver: Any) -> None:
    """Seed ``seed`` was killed where drawn, its re-run Completed with one of everything,
    and the server told of the killed run."""
    outcome = kills.outcomes[seed]
    if outcome.error is not None:
        raise outcome.error
    _killed_where_drawn(outcome)

    rerun, held = outcome.rerun, outcome.held
    assert rerun is not None
    assert held is not None
    assert rerun.state.is_completed(), rerun.value
    assert outcome.after == Creates(uploads=2, jobs=1, deployments=1)
    assert sorted(f.filename.split("-")[0] for f in held.files) == ["train", "validation"]
    assert {f.status for f in held.files} == {"processed"}
    assert [(job.id, job.status) for job in held.jobs] == [(rerun.value.job_id, "succeeded")]
    assert [
        (d.name, d.properties.provisioning_state, d.properties.model.name) for d in held.deployments
    ] == [("support-assistant", "Succeeded", rerun.value.fine_tuned_model)]

    killed = outcome.killed_run
    assert killed is not None
    told = receiver.wait_for(
        kills.path,
        lambda d: d.payload["subject"] == f"💥 {FLOW} run {killed.name} Crashed",
        timeout=TOLD_WITHIN,
    )
    assert str(killed.id) in told.payload["body"]
    assert "No heartbeat" in told.payload["body"]
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(killed.id).state
    assert state is not None
    assert state.is_crashed()


def killed_and_resumed_test(seeds: Sequence[int]) -> Any:
    """The test of each of ``seeds`` (a module's ``MINE``): `check_killed_and_resumed`, with the
    module's ``kills`` fixture (conftest.py), which runs all of its schedules in its setup."""

    @pytest.mark.timeout(1800)
    @pytest.mark.parametrize("seed", seeds)
    def test_flow_killed_at_a_random_point_resumes_with_one_of_everything_and_is_told_of(
        seed: int, kills: Kills, receiver: Any
    ) -> None:
        check_killed_and_resumed(seed, kills, receiver)

    return test_flow_killed_at_a_random_point_resumes_with_one_of_everything_and_is_told_of
