"""Flow runs per minute through a real Prefect server and worker, concurrent against sequential.

Starts the local stack (``python -m deployments.stack up``: Prefect server, emulator, setup,
one process worker on ``ftflow-local``) under ``benchmarks/out/flow_concurrency/`` with the
emulator at ``--speed`` (default 6000: the sample job trains in ~0.2 wall seconds, so the
figures are about orchestration, not training), deploys ``fine-tune/local`` from
``prefect.yaml`` (``prefect deploy``) and creates runs of it through the Prefect client, each
with its own suffix and deployment name so that every run trains and deploys its own model.

Azure, and the emulator, train one job per resource at a time; the flow also holds the
one-slot limit ``azure-training-<account>`` from submit until its job ends. So concurrent
runs overlap everywhere except in training. The emulator's quotas on fine-tuned
deployments (5), queued jobs (20) and files (50) are raised for the benchmark, which makes
more than five deployments.

After one warm-up run (uploads are cached from then on, as for any later run on the same
data), for each N of ``--concurrency`` (default 1,4,8): the baseline, min(N, ``--sequential``)
runs one after another (each created when the one before has ended), then N runs created at
once; the two are measured back to back, so both see the same machine. Wall time is from
creating the first run to the last one's end (the server's ``end_time``); runs per minute =
runs / wall; the gain is the concurrent batch's runs per minute over its baseline's.
``--record`` appends to RESULTS.md.

Usage: ``python benchmarks/flow_concurrency.py [--concurrency 1,4,8] [--sequential 4]
[--speed 6000] [--record]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _flowbench import (  # type: ignore[import-not-found, unused-ignore]
    API_VERSION,
    JOBS,
    PARAMS,
    REPO,
    CpuMeter,
    Stack,
    emulator_client,
    mark,
    own_env,
)
from _measure import foreign_warning, record  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.client.orchestration import SyncPrefectClient

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "flow_concurrency"
QUOTAS = {"max_fine_tuned_deployments": 1000, "max_queued_jobs": 1000, "max_files": 1000}


@dataclass
class Batch:
    """Runs created together (or, for the baseline, one after another) and how they ended."""

    label: str
    runs: int
    wall_s: float
    latencies: list[float]
    failed: list[str]
    cpu_s: float
    foreign_cpu_s: float

    @property
    def per_minute(self) -> float:
        return 60.0 * self.runs / self.wall_s


class Runner:
    """Creates runs of ``fine-tune/local`` and waits for them, through the Prefect client."""

    def __init__(self, client: SyncPrefectClient, deployment: UUID, params: dict[str, Any]) -> None:
        self.client = client
        self.deployment = deployment
        self.params = params
        self.tag = uuid.uuid4().hex[:6]
        self.count = 0

    def create(self) -> tuple[UUID, float]:
        """A run with its own suffix and deployment name; its id and when it was created."""
        self.count += 1
        name = f"b{self.tag}{self.count}"
        request = self.params | {"suffix": name, "deployment_name": name}
        created = time.time()
        run = self.client.create_flow_run_from_deployment(
            self.deployment, parameters={"request": request}
        )
        return run.id, created

    def wait(self, ids: list[UUID], timeout: float = 900.0) -> tuple[dict[UUID, float], list[str]]:
        """When each of ``ids`` ended (epoch), and the failures (name: state message)."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        deadline = time.monotonic() + timeout
        while True:
            found = self.client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))
            )
            if len(found) == len(ids) and all(r.state and r.state.is_final() for r in found):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"runs did not finish within {timeout:.0f} s")
            time.sleep(0.25)
        ends = {r.id: r.end_time.timestamp() if r.end_time else time.time() for r in found}
        failed = [
            f"{r.name}: {r.state.message if r.state else '?'}"
            for r in found
            if not (r.state and r.state.is_completed())
        ]
        return ends, failed

    def batch(self, label: str, n: int, *, together: bool) -> Batch:
        """``n`` runs, created at once (``together``) or each when the one before ended."""
        meter = CpuMeter()
        first = time.time()
        created: list[tuple[UUID, float]] = []
        ends: dict[UUID, float] = {}
        failed: list[str] = []
        if together:
            created = [self.create() for _ in range(n)]
            ends, failed = self.wait([run for run, _ in created])
        else:
            for _ in range(n):
                created.append(self.create())
                ended, failures = self.wait([created[-1][0]])
                ends |= ended
                failed += failures
        cpu, foreign = meter.read()
        latencies = [ends[run] - at for run, at in created]
        return Batch(label, n, max(ends.values()) - first, latencies, failed, cpu, foreign)


def report(pairs: list[tuple[Batch, Batch]], speed: float, job_s: float) -> list[str]:
    """One row per N: the sequential baseline, the concurrent batch, the gain."""
    lines = [
        f"fine-tune/local runs through a Prefect server and one process worker (a subprocess "
        f"per run); emulator speed {speed:g}: a job takes {job_s:.2f} wall s (created -> "
        "finished), one job trains at a time per resource; after 1 warm-up run",
        f"{'':<4}{'sequential (baseline)':^31}|{'N at once':^41}|",
        f"{'N':>4}{'runs':>6}{'wall s':>8}{'runs/min':>9}{'CPU/run':>8}|{'wall s':>8}"
        f"{'runs/min':>9}{'latency mean/max':>17}{'CPU/run':>8}|{'gain':>7}",
    ]
    for seq, conc in pairs:
        latency = f"{sum(conc.latencies) / conc.runs:.1f} / {max(conc.latencies):.1f}"
        lines.append(
            f"{conc.runs:>4}{seq.runs:>6}{seq.wall_s:>8.1f}{seq.per_minute:>9.2f}"
            f"{seq.cpu_s / seq.runs:>8.1f}|{conc.wall_s:>8.1f}{conc.per_minute:>9.2f}"
            f"{latency:>17}{conc.cpu_s / conc.runs:>8.1f}|"
            f"{conc.per_minute / seq.per_minute:>6.2f}x"
        )
    lines.append(
        "seconds; wall: first run created -> last run's end (server end_time); latency: a "
        "run's creation -> its end; CPU/run: CPU s of the benchmark's, the stack's and the "
        "runs' processes, per run; gain: runs/min at once / runs/min one after another"
    )
    for batch in [batch for pair in pairs for batch in pair]:
        if batch.failed:
            lines.append(f"FAILED in {batch.label}: {'; '.join(batch.failed)[:500]}")
        lines += foreign_warning(batch.foreign_cpu_s, batch.wall_s, batch.label)
    return lines


def job_seconds(stack: Stack, speed: float) -> float:
    """The mean wall time, ``created_at`` → ``finished_at``, of the emulator's jobs."""
    with emulator_client(stack.env) as http:
        found = http.get(JOBS, params={"api-version": API_VERSION, "limit": 100})
        jobs = [j for j in found.json()["data"] if j.get("finished_at")]
    total = sum(float(j["finished_at"]) - float(j["created_at"]) for j in jobs)
    return total / max(1, len(jobs)) / speed


def prepare(stack: Stack) -> None:
    """Raise the emulator's quotas; deploy ``fine-tune/local`` from prefect.yaml."""
    with emulator_client(stack.env) as http:
        http.patch("/_emulator/settings", json={"limits": QUOTAS}).raise_for_status()
    deploy = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--name", "fine-tune/local"]
    done = subprocess.run(
        deploy, cwd=REPO, env=own_env() | stack.env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"prefect deploy failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Flow runs per minute, concurrent vs sequential.")
    parser.add_argument("--concurrency", default="1,4,8", help="batch sizes N, comma-separated")
    parser.add_argument(
        "--sequential", type=int, default=4, help="at most this many runs in each baseline"
    )
    parser.add_argument("--speed", type=float, default=6000.0, help="emulator speed")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.concurrency.split(",") if n.strip()]
    mark()
    OUT.mkdir(parents=True, exist_ok=True)
    stack = Stack(OUT / "stack")
    print(f"starting the local stack (emulator speed {args.speed:g}) ...", flush=True)
    stack.up(args.speed)
    try:
        prepare(stack)
        os.environ.update({k: v for k, v in stack.env.items() if k.startswith("PREFECT_")})
        from prefect.client.orchestration import get_client

        params = json.loads(PARAMS.read_text(encoding="utf-8"))
        params["poll_interval_max_seconds"] = 0.5
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("fine-tune/local").id
            runner = Runner(client, deployment, params)
            print("warm-up run ...", flush=True)
            warm = runner.batch("warm-up", 1, together=False)
            if warm.failed:
                print(f"the warm-up run failed: {warm.failed}", file=sys.stderr)
                return 1
            pairs = []
            for n in sizes:
                k = min(n, args.sequential)
                print(f"N={n}: {k} run(s) one after another, then {n} at once ...", flush=True)
                seq = runner.batch(f"{k} one after another (N={n})", k, together=False)
                pairs.append((seq, runner.batch(f"{n} at once", n, together=True)))
        job_s = job_seconds(stack, args.speed)
    finally:
        stack.command("down")
    lines = report(pairs, args.speed, job_s)
    print("\n".join(lines))
    if args.record:
        title = f"flow runs per minute, concurrent vs sequential, emulator speed {args.speed:g}"
        record(lines, title, "prefect")
    return 1 if any(b.failed for pair in pairs for b in pair) else 0


if __name__ == "__main__":
    sys.exit(main())
