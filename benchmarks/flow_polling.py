"""How the flow polls a training job, against naive fixed-interval pollers on the same job.

The flow's wait task polls with growing intervals in *wall* seconds (1 s, then x1.5 up to the
request's ``poll_interval_max_seconds``, default 60 s) and reads the job's new events after
each poll. On Azure (speed 1) that settles at one poll per 60 s. Here the emulator runs at
``--speed`` (default 60 simulated seconds per wall second) and the request caps the interval
at ``--cap`` simulated seconds (default 60) / speed, so the flow polls as it would on Azure
with the default cap, minus the short ramp (its first interval, 1 wall second, is already
``speed`` simulated seconds).

One run: an emulator in this process (fresh data dir under ``benchmarks/out/flow_polling/``,
deployments made to take 30 simulated seconds instead of 300 to keep it short), ``ftflow run``
on the sample data with a temporary Prefect server, and, watching the same job from this
process while it trains, one naive poller per ``--naive`` interval (simulated seconds,
default 10 and 60): ``GET`` the job, sleep, repeat until it has ended. The naive pollers tag
their requests (``?poller=...``), so the emulator's request log tells every poller's calls
apart. Per poller: GETs of the job until the first one that saw it finished, other polling
calls (the flow's event reads, one after each poll), calls per simulated job-hour (job
``created_at`` → ``finished_at``) and the wait to notice (``finished_at`` → that GET).
``--record`` appends to RESULTS.md.

Usage: ``python benchmarks/flow_polling.py [--speed 60] [--cap 60] [--naive 10,60] [--record]``
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _flowbench import (  # type: ignore[import-not-found, unused-ignore]
    API_VERSION,
    FTFLOW,
    JOBS,
    PARAMS,
    CpuMeter,
    emulator_client,
    mark,
    own_env,
    run_command,
)
from _measure import foreign_warning, record  # type: ignore[import-not-found, unused-ignore]

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "flow_polling"
VERSION = {"api-version": API_VERSION}
WAIT_DONE = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| INFO +\| Task run 'wait-[^']*' - Finished in")


class Watch:
    """Naive pollers: find the job the flow creates, then GET it every interval until it ends."""

    def __init__(self, http: httpx.Client, intervals: dict[str, float]) -> None:
        self.http = http
        self.intervals = intervals
        self.job_id = ""
        self.found = threading.Event()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._discover, daemon=True)]
        self.threads += [
            threading.Thread(target=self._poll, args=(name, every), daemon=True)
            for name, every in intervals.items()
        ]

    def _get(self, path: str, poller: str) -> Any:
        response = self.http.get(path, params=VERSION | {"poller": poller})
        response.raise_for_status()
        return response.json()

    def _discover(self) -> None:
        while not self.stop.is_set():
            jobs = self._get(JOBS, "discover")["data"]
            if jobs:
                self.job_id = jobs[0]["id"]
                self.found.set()
                return
            self.stop.wait(0.05)

    def _poll(self, name: str, every: float) -> None:
        while not self.found.wait(0.05):
            if self.stop.is_set():
                return
        while not self.stop.is_set():
            job = self._get(f"{JOBS}/{self.job_id}", name)
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return
            self.stop.wait(every)

    def __enter__(self) -> Watch:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def poller_of(record: dict[str, Any]) -> str:
    found = re.search(r"(?:^|&)poller=([^&]+)", record["query"])
    return found.group(1) if found else "flow"


def wait_task_end(output: str, near: float) -> float | None:
    """When the flow's log says its wait task finished (epoch), from the local time of day."""
    for line in output.splitlines():
        if found := WAIT_DONE.match(line):
            clock = datetime.strptime(found.group(1)[:12], "%H:%M:%S.%f").time()
            day = datetime.fromtimestamp(near).astimezone()
            stamp = datetime.combine(day.date(), clock, tzinfo=day.tzinfo)
            for shift in (timedelta(0), timedelta(days=1), timedelta(days=-1)):
                if abs((stamp + shift).timestamp() - near) < 6 * 3600:
                    return (stamp + shift).timestamp()
    return None


def report(
    log: list[dict[str, Any]],
    job: dict[str, Any],
    naive: dict[str, float],
    speed: float,
    cap: float,
) -> list[str]:
    created, finished = float(job["created_at"]), float(job["finished_at"])
    hours = (finished - created) / 3600
    path = f"{JOBS}/{job['id']}"
    lines = [
        f"one job polled at once by the flow and {len(naive)} naive poller(s); emulator speed "
        f"{speed:g} (1 wall s = {speed:g} simulated s); the job took {finished - created:,.0f} "
        f"simulated s ({hours:.2f} h); the flow's interval cap {cap:g} simulated s",
        f"{'':<34}{'job GETs':>9}{'other':>7}{'calls/job-h':>13}{'last gap':>10}"
        f"{'notice sim s':>14}{'wall s':>8}",
    ]
    figures: dict[str, tuple[int, float]] = {}
    names = {"flow": "fine-tune flow (wait task)"}
    names |= {name: f"naive, every {every:g} simulated s" for name, every in naive.items()}
    for poller, label in names.items():
        mine = [r for r in log if poller_of(r) == poller and r["method"] == "GET"]
        gets = [r for r in mine if r["path"] == path]
        if poller == "flow":
            # Its first GET at or after finished_at (whole seconds in the API: the flow's
            # delay is exact to one simulated second); later ones read the results.
            seen = next((r for r in gets if r["sim_time"] >= finished), None)
        else:  # a naive poller stops at the GET that saw the job finished
            seen = gets[-1] if gets and gets[-1]["sim_time"] >= finished - 1 else None
        if seen is None:
            lines.append(f"{label:<34}  did not see the job finish")
            continue
        gets = [r for r in gets if r["seq"] <= seen["seq"]]
        other = [r for r in mine if r["path"] == path + "/events"]  # read after each poll
        calls, delay = len(gets) + len(other), seen["sim_time"] - finished
        gap = seen["sim_time"] - gets[-2]["sim_time"] if len(gets) > 1 else float("nan")
        figures[poller] = (calls, delay)
        lines.append(
            f"{label:<34}{len(gets):>9}{len(other):>7}{calls / hours:>13.1f}{gap:>10.1f}"
            f"{delay:>14.1f}{delay / speed:>8.2f}"
        )
    lines.append(
        "last gap: simulated s between the poller's last two GETs; the wait to notice is "
        "anywhere from 0 to it (half of it on average), so one run's notice is one sample"
    )
    if "flow" in figures:
        calls, delay = figures["flow"]
        for poller, (n, d) in figures.items():
            if poller != "flow":
                lines.append(
                    f"flow / naive every {naive[poller]:g} s: {calls / n:.2f}x the calls; the "
                    f"flow notices {abs(delay - d):.1f} simulated s "
                    f"{'later' if delay >= d else 'sooner'} ({delay:.1f} vs {d:.1f})"
                )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The flow's job polling against naive pollers.")
    parser.add_argument("--speed", type=float, default=60.0, help="emulator speed")
    parser.add_argument("--cap", type=float, default=60.0, help="flow's interval cap, simulated s")
    parser.add_argument("--naive", default="10,60", help="naive intervals, simulated s")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    mark()
    naive = {f"naive-{float(s):g}s": float(s) for s in args.naive.split(",") if s.strip()}
    cap_wall = max(0.5, args.cap / args.speed)  # the request's lower bound is 0.5 s
    shutil.rmtree(OUT, ignore_errors=True)  # a new emulator, Prefect database and results
    OUT.mkdir(parents=True)
    params = json.loads(PARAMS.read_text(encoding="utf-8"))
    params |= {"poll_interval_max_seconds": cap_wall, "base_deployment": None}
    (OUT / "params.json").write_text(json.dumps(params), encoding="utf-8")

    server = EmulatorServer(EmulatorConfig(data_dir=OUT / "emulator", port=0, speed=args.speed))
    server.start()
    try:
        settings = dict(server.environment)
        http = emulator_client(settings, timeout=60.0)
        timings = {"timings": {"deployment_seconds": 30.0}}
        http.patch("/_emulator/settings", json=timings).raise_for_status()
        env = own_env()
        env |= {k: v for k, v in settings.items() if k.startswith("AZURE_")}
        env |= {
            "PREFECT_HOME": str(OUT / "prefect"),  # a temporary server's database
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(OUT / "results"),
        }
        flow = [str(FTFLOW), "run", str(OUT / "params.json")]
        print(f"running the flow (emulator speed {args.speed:g}) and the naive pollers ...")
        meter = CpuMeter()
        started = time.perf_counter()
        with Watch(http, {name: every / args.speed for name, every in naive.items()}) as watch:
            done = run_command(flow, env)
        wall = time.perf_counter() - started
        _, foreign = meter.read()
        if done.returncode != 0 or not watch.job_id:
            print(f"the flow failed:\n{done.stdout[-3000:]}", file=sys.stderr)
            return 1
        log = http.get("/_emulator/requests").json()["data"]
        job = http.get(f"{JOBS}/{watch.job_id}", params=VERSION | {"poller": "bench"}).json()
    finally:
        server.stop()
    lines = report(log, job, naive, args.speed, args.cap)
    noticed = [r for r in log if poller_of(r) == "flow" and r["path"] == f"{JOBS}/{job['id']}"]
    noticed = [r for r in noticed if r["sim_time"] >= float(job["finished_at"])]
    end = wait_task_end(done.stdout, noticed[0]["time"]) if noticed else None
    if end is not None:
        lines.append(
            f"the flow's wait task returned {end - noticed[0]['time']:.2f} wall s after its "
            "final GET (its log's timestamp)"
        )
    lines += foreign_warning(
        foreign, wall, f"the {wall:.0f} s run", "the wait to notice may be longer than it would be"
    )
    print("\n".join(lines))
    if args.record:
        record(lines, f"job polling, emulator speed {args.speed:g}", "prefect")
    return 0


if __name__ == "__main__":
    sys.exit(main())
