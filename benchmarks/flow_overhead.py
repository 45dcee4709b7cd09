"""What orchestration costs: the ``fine-tune`` flow against the notebook script, and a re-run.

Starts the local stack (``python -m deployments.stack up``: Prefect server, emulator, base
model, setup, worker) under ``benchmarks/out/flow_overhead/`` with the emulator at
``--speed`` (default 600, as ``make demo``), then, ``--repeat`` times (default 3):

1. empties the emulator (``POST /_emulator/reset``), deploys the base model again, runs
   ``baseline_notebook.py`` (the same remote calls with the SDKs, polling every second);
2. empties it again and runs ``ftflow run examples/emulator-params.json`` with fresh result
   storage (the first run), then the same command again (the re-run: upload, submit and wait
   come back from the cache).

Each command's wall time is from process start to exit. The emulator's job time is the job's
``created_at`` → ``finished_at`` (simulated seconds) divided by the speed; the flow's
overhead is its wall time minus that. The wait to notice is from ``finished_at`` to the first
GET of the job that saw it finished (the request log's ``sim_time``). Per command, the
fastest run is shown; ratios are flow / notebook and re-run / first run. CPU seconds: the
command's own, and the Prefect server's during the command. A warning is printed when other
processes used more than 10% of a core during a run. ``--record`` appends to RESULTS.md.

Usage: ``python benchmarks/flow_overhead.py [--speed 600] [--repeat 3] [--record]``
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _flowbench import (  # type: ignore[import-not-found, unused-ignore]
    API_VERSION,
    FTFLOW,
    JOBS,
    PARAMS,
    REPO,
    CpuMeter,
    Stack,
    emulator_client,
    mark,
    own_env,
    run_command,
)
from _measure import (  # type: ignore[import-not-found, unused-ignore]
    foreign_warning,
    process_cpu_seconds,
    record,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "flow_overhead"


class Emulator:
    """The emulator's control API and request log."""

    def __init__(self, env: dict[str, str]) -> None:
        self.http = emulator_client(env)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.http.post("/_emulator/reset").raise_for_status()

    def speed(self) -> float:
        return float(self.get("/_emulator/clock")["speed"])

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        return list(self.get("/_emulator/requests", since=since)["data"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.get(f"{JOBS}/{job_id}", **{"api-version": API_VERSION}))


@dataclass
class Run:
    """One command: its times and the requests the emulator saw from it."""

    name: str
    returncode: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    foreign_cpu_s: float
    started: float
    output: str
    log: list[dict[str, Any]]
    job: dict[str, Any] | None = None


def measure(
    name: str, argv: list[str], env: dict[str, str], emu: Emulator, server: int, *, trains: bool
) -> Run:
    """Run ``argv`` from the repository; its wall and CPU time, the emulator's log of it, and
    when it ``trains``, the job it trained."""
    since = max((r["seq"] for r in emu.log()), default=0)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter = CpuMeter()
    server_cpu = process_cpu_seconds(server)
    started, clock = time.time(), time.perf_counter()
    done = run_command(argv, env)
    wall = time.perf_counter() - clock
    _, foreign = meter.read()
    server_cpu = process_cpu_seconds(server) - server_cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    log = emu.log(since)
    run = Run(name, done.returncode, wall, cpu, server_cpu, foreign, started, done.stdout, log)
    jobs = {r["path"].split("/")[4] for r in log if r["path"].startswith(JOBS + "/ftjob-")}
    if trains and len(jobs) == 1:
        run.job = emu.job(jobs.pop())
    return run


def breakdown(run: Run, speed: float) -> dict[str, float]:
    """Wall and CPU, the emulator's job time, the wait to notice it finished, the overhead
    (wall - job) and when the first request came."""
    figures = {"wall": run.wall_s, "cpu": run.cpu_s, "server": run.server_cpu_s}
    figures["requests"] = len(run.log)
    if run.log:
        figures["first_request"] = run.log[0]["time"] - run.started
    job = run.job
    if job and job.get("finished_at"):
        finished = float(job["finished_at"])
        figures["job"] = (finished - float(job["created_at"])) / speed
        path = f"{JOBS}/{job['id']}"
        seen = [r for r in run.log if r["path"] == path and r["sim_time"] >= finished]
        if seen:
            figures["notice"] = (seen[0]["sim_time"] - finished) / speed
        figures["overhead"] = run.wall_s - figures["job"]
    return figures


def creates(run: Run) -> tuple[int, int, int]:
    """(files uploaded, jobs created, deployment writes) in the run's requests."""
    return (
        sum(1 for r in run.log if r["method"] == "POST" and r["path"] == "/openai/files"),
        sum(1 for r in run.log if r["method"] == "POST" and r["path"] == JOBS),
        sum(1 for r in run.log if r["method"] == "PUT" and "/deployments/" in r["path"]),
    )


def row(label: str, f: dict[str, float]) -> str:
    def cell(key: str, width: int, fmt: str = ".2f") -> str:
        return f"{f[key]:>{width}{fmt}}" if key in f else f"{'-':>{width}}"

    share = f"{f['overhead'] / f['wall']:>7.0%}" if "overhead" in f else f"{'-':>7}"
    return (
        f"{label:<30}{cell('wall', 8)}{cell('job', 7)}{cell('notice', 9)}{cell('overhead', 11)}"
        f"{share}{cell('first_request', 10)}{cell('cpu', 7)}{cell('server', 9)}"
        f"{cell('requests', 10, '.0f')}"
    )


def report(best: dict[str, Run], speed: float, repeat: int) -> list[str]:
    note, first, rerun = (breakdown(best[k], speed) for k in ("notebook", "first", "rerun"))
    lines = [
        f"emulator speed {speed:g} (1 wall s = {speed:g} simulated s); sample data, 3 epochs "
        f"(examples/emulator-params.json); fastest of {repeat} run(s) each; seconds",
        f"{'':<30}{'wall':>8}{'job':>7}{'notice':>9}{'overhead':>11}{'share':>7}"
        f"{'1st req':>10}{'CPU':>7}{'server':>9}{'requests':>10}",
        row("notebook script (SDK calls)", note),
        row("fine-tune flow (ftflow run)", first),
        row("re-run of the completed flow", rerun),
    ]
    if "overhead" in note and "overhead" in first:
        rest = [f["overhead"] - f.get("notice", 0.0) for f in (first, note)]
        lines.append(
            f"flow / notebook: wall {first['wall'] / note['wall']:.2f}x; overhead (wall - job) "
            f"{first['overhead'] / note['overhead']:.2f}x; overhead without the wait to notice "
            f"{rest[0] / rest[1]:.2f}x ({rest[0] - rest[1]:+.2f} s)"
        )
    files, jobs, deploys = creates(best["rerun"])
    lines.append(
        f"re-run / first run: wall {rerun['wall'] / first['wall']:.2f}x "
        f"({first['wall'] / rerun['wall']:.2f}x faster); the re-run created {files} files, "
        f"{jobs} jobs, {deploys} deployment writes"
    )
    for run in best.values():
        lines += foreign_warning(run.foreign_cpu_s, run.wall_s, f"the {run.name}")
    return lines


def prepare(emu: Emulator, env: dict[str, str]) -> None:
    """An empty emulator with the base model deployed (the smoke test compares with it)."""
    emu.reset()
    base = [sys.executable, "-m", "deployments.base_model", str(PARAMS)]
    subprocess.run(base, cwd=REPO, env=env, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The fine-tune flow against the notebook way.")
    parser.add_argument("--speed", type=float, default=600.0, help="emulator speed")
    parser.add_argument("--repeat", type=int, default=3, help="fastest of N runs each")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    mark()
    OUT.mkdir(parents=True, exist_ok=True)
    stack = Stack(OUT / "stack")
    print(f"starting the local stack (emulator speed {args.speed:g}) ...", flush=True)
    stack.up(args.speed)
    try:
        emu = Emulator(stack.env)
        speed = emu.speed()
        env = own_env() | stack.env
        server = stack.pid("server")
        notebook = [sys.executable, str(HERE / "baseline_notebook.py"), str(PARAMS)]
        flow = [str(FTFLOW), "run", str(PARAMS)]
        runs: dict[str, list[Run]] = {"notebook": [], "first": [], "rerun": []}
        for attempt in range(1, max(1, args.repeat) + 1):
            print(f"run {attempt}: the notebook script, the flow, the flow again ...", flush=True)
            prepare(emu, env)
            runs["notebook"].append(
                measure("notebook run", notebook, env, emu, server, trains=True)
            )
            prepare(emu, env)
            storage = OUT / "results"
            shutil.rmtree(storage, ignore_errors=True)
            flow_env = env | {"PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(storage)}
            runs["first"].append(
                measure("first flow run", flow, flow_env, emu, server, trains=True)
            )
            runs["rerun"].append(measure("flow re-run", flow, flow_env, emu, server, trains=False))
        failed = [run for kind in runs.values() for run in kind if run.returncode != 0]
        if failed:
            print(f"{failed[0].name} failed:\n{failed[0].output[-3000:]}", file=sys.stderr)
            return 1
        best = {kind: min(found, key=lambda run: run.wall_s) for kind, found in runs.items()}
        lines = report(best, speed, args.repeat)
    finally:
        stack.command("down")
    print("\n".join(lines))
    if args.record:
        record(lines, f"fine-tune flow overhead and re-run, emulator speed {speed:g}", "prefect")
    return 0


if __name__ == "__main__":
    sys.exit(main())
