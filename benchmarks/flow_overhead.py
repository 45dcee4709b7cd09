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
import json
import os
import resource
import shlex
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "flow_overhead"
PARAMS = REPO / "examples" / "emulator-params.json"
RESULTS = HERE / "RESULTS.md"
MARK = "FTFLOW_BENCHMARK_RUN"
JOBS = "/openai/fine_tuning/jobs"
API_VERSION = "2025-04-01-preview"


def cpu_seconds() -> tuple[float, float]:
    """(CPU s the machine has been busy, CPU s of this process and of every process carrying
    ``MARK``, which everything it starts inherits), from ``_measure.py --cpu``."""
    command = [sys.executable, str(HERE / "_measure.py"), "--cpu", f"{MARK}={os.environ[MARK]}"]
    found = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    return float(found["busy"]), float(found["marked"])


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and the children it reaped; 0 when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    return sum(int(v) for v in stat[stat.rindex(")") + 2 :].split()[11:15]) / os.sysconf(
        "SC_CLK_TCK"
    )


def own_env() -> dict[str, str]:
    """This environment without settings that would point a child at another server or Azure."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AZURE_"))}


class Stack:
    """The local stack under ``root``, through its command line (``deployments.stack``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env: dict[str, str] = {}

    def command(self, *args: str) -> str:
        argv = [sys.executable, "-m", "deployments.stack", "--root", str(self.root), *args]
        done = subprocess.run(
            argv, cwd=REPO, env=own_env(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"stack {args[0]} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def up(self, speed: float) -> None:
        """Start it afresh (a new Prefect database and emulator; one left behind is stopped
        first) and collect the clients' settings."""
        self.command("down")
        shutil.rmtree(self.root, ignore_errors=True)
        self.command("up", "--port", "0", "--speed", str(speed))
        for line in self.command("env").splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            self.env[name] = shlex.split(value)[0] if value else ""
        for line in (self.root / ".stack" / "emulator.env").read_text().splitlines():
            name, _, value = line.partition("=")
            self.env[name] = shlex.split(value)[0] if value else ""

    def pid(self, name: str) -> int:
        return int((self.root / ".stack" / f"{name}.pid").read_text())


class Emulator:
    """The emulator's control API and request log."""

    def __init__(self, env: dict[str, str]) -> None:
        self.http = httpx.Client(
            base_url=env["AZURE_OPENAI_ENDPOINT"],
            headers={"api-key": env["AZURE_OPENAI_API_KEY"]},
            verify=ssl.create_default_context(cafile=env["AZURE_OPENAI_CA_BUNDLE"]),
            timeout=30.0,
        )

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
    busy, ours = cpu_seconds()
    server_cpu = process_cpu(server)
    started, clock = time.time(), time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - clock
    busy_after, ours_after = cpu_seconds()
    server_cpu = process_cpu(server) - server_cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    log = emu.log(since)
    run = Run(
        name,
        done.returncode,
        wall,
        cpu,
        server_cpu,
        max(0.0, (busy_after - busy) - (ours_after - ours)),
        started,
        done.stdout,
        log,
    )
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
        if run.foreign_cpu_s > 0.1 * run.wall_s:
            lines.append(
                f"WARNING: other processes used {run.foreign_cpu_s:.1f} CPU-s during the "
                f"{run.name} ({run.foreign_cpu_s / run.wall_s:.0%} of a core): "
                "figures disturbed"
            )
    return lines


def record(lines: list[str], title: str) -> None:
    """Append a dated block with the machine and the figures to RESULTS.md."""
    machine = [sys.executable, str(HERE / "_measure.py"), "--machine"]
    facts = json.loads(subprocess.run(machine, check=True, capture_output=True).stdout)
    git = ["git", "describe", "--always", "--dirty"]  # "-dirty": uncommitted changes
    commit = subprocess.run(git, cwd=HERE, check=False, capture_output=True, text=True).stdout
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        f"## {when}: {title}",
        "",
        f"Machine: {facts['nproc']} cores (nproc), {facts['memory']} RAM, {facts['cpu']}, "
        f"Linux {facts['kernel']}; Python {facts['python']}, prefect {version('prefect')}; "
        f"commit {commit.strip() or 'unknown'}.",
        "",
        "```",
        *lines,
        "```",
    ]
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(block) + "\n\n")
    print(f"recorded in {RESULTS}")


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
    os.environ[MARK] = uuid.uuid4().hex
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
        flow = [str(Path(sys.executable).parent / "ftflow"), "run", str(PARAMS)]
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
        record(lines, f"fine-tune flow overhead and re-run, emulator speed {speed:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
