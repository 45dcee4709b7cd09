"""Measuring a command: wall time, CPU time and the peak memory of its whole process tree.

``ru_maxrss`` alone cannot answer "how much memory did this take": for a child it is the
largest single process among it and its reaped descendants, not their sum, and a validator
that runs worker processes holds memory in several at once. So a sampler thread polls
``/proc`` every ``interval`` seconds, finds the child and all its descendants, and sums their
``VmRSS``; the peak of that sum is the figure we report. RSS counts pages shared between
processes (a forked worker's copy-on-write pages, shared libraries) once per process, so it
overstates a little; the peak summed PSS (shared pages divided among their users) is sampled
too, less often because it is costlier to read, as a lower cross-check.

The machine's CPU time spent outside the measured tree during the run is also reported:
other work on a 2-core machine distorts every figure, and we would rather say so.

A script: ``python benchmarks/_measure.py --out DIR -- COMMAND [ARG ...]`` runs the command
with its stdout and stderr in ``DIR/stdout`` and ``DIR/stderr`` and writes the measurement to
``DIR/measure.json``; ``python benchmarks/_measure.py --machine`` prints the machine's facts.
Also a module the benchmarks import as a sibling (``benchmarks/`` is not a package; a script's
own folder is first on ``sys.path``): `record` appends their figures to RESULTS.md under a
header naming the machine, and `foreign_warning` says when other work disturbed a run.

Benchmarks whose work runs in processes outside their own tree (a Prefect server, a worker
and its flow runs, an emulator) mark them instead: they put ``NAME=VALUE`` in the
environment of everything they start, which those processes pass on, and call
``python benchmarks/_measure.py --cpu NAME=VALUE`` before and after each measurement. It
prints the CPU seconds the machine has spent busy since boot and those of the caller and of
every process carrying the mark (with the children each has reaped); the difference of the
two deltas is the CPU other work took meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

PROC = Path("/proc")
PSS_EVERY = 2  # read smaps_rollup on every other sample only: it walks the page tables
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
FOREIGN_SHARE = 0.1  # of a core: more CPU time than this taken by other work is a warning


@dataclass(frozen=True, slots=True)
class Measured:
    """One run of a command."""

    argv: list[str]
    returncode: int
    wall_s: float
    cpu_s: float
    peak_tree_rss: int
    peak_tree_pss: int
    peak_processes: int
    child_maxrss: int
    foreign_cpu_s: float


def _stat_ppid(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or parentheses.
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _status_kb(pid: int, field: str, file: str = "status") -> int:
    try:
        text = (PROC / str(pid) / file).read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0  # a zombie has no VmRSS


class TreeSampler:
    """Tracks the process tree under ``root`` and the peaks of its summed memory."""

    def __init__(self, root: int, interval: float) -> None:
        self.root = root
        self.interval = interval
        self.outside: set[int] = set()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tree(self) -> list[int]:
        """The root and its live descendants, from one scan of ``/proc``."""
        live = {int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()}
        self.outside &= live  # forget exited processes: their pids may be reused
        parents = {pid: _stat_ppid(pid) for pid in live - self.outside}
        members = {self.root}
        grew = True
        while grew:
            found = {pid for pid, ppid in parents.items() if ppid in members} - members
            members |= found
            grew = bool(found)
        # A process outside the tree now never joins it (an orphan goes to init, not to us).
        self.outside |= set(parents) - members
        return sorted(members & live)

    def sample(self, with_pss: bool) -> None:
        pids = self.tree()
        self.peak_processes = max(self.peak_processes, len(pids))
        self.peak_rss = max(self.peak_rss, 1024 * sum(_status_kb(p, "VmRSS:") for p in pids))
        if with_pss:
            pss = sum(_status_kb(p, "Pss:", "smaps_rollup") for p in pids)
            self.peak_pss = max(self.peak_pss, 1024 * pss)

    def _run(self) -> None:
        count = 0
        while not self._stop.is_set():
            self.sample(with_pss=count % PSS_EVERY == 0)
            count += 1
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def busy_cpu_seconds() -> float:
    """CPU time all cores have spent busy since boot, from ``/proc/stat``."""
    fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` and of the children it has reaped; 0 when gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # utime, stime, cutime, cstime: 11-14
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def marked_cpu(mark: str) -> dict[str, float]:
    """The machine's busy CPU seconds, and the caller's and those of processes marked ``mark``.

    A marked process that ended counts only through a marked parent that reaped it.
    """
    needle = mark.encode()
    pids = {os.getppid(), os.getpid()}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return {"busy": busy_cpu_seconds(), "marked": sum(process_cpu_seconds(pid) for pid in pids)}


def run_measured(argv: list[str], out_dir: Path, interval: float) -> Measured:
    """Run ``argv`` to completion while sampling its process tree; output into ``out_dir``."""
    with (out_dir / "stdout").open("wb") as out, (out_dir / "stderr").open("wb") as err:
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        busy_before = busy_cpu_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        sampler = TreeSampler(process.pid, interval)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        busy = busy_cpu_seconds() - busy_before
        sampler.stop()
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    cpu = usage.ru_utime + usage.ru_stime  # includes the descendants it waited for
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    return Measured(
        argv=argv,
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=cpu,
        # ru_maxrss (the largest single process) is a floor if a spike fell between samples.
        peak_tree_rss=max(sampler.peak_rss, usage.ru_maxrss * 1024),
        peak_tree_pss=sampler.peak_pss,
        peak_processes=sampler.peak_processes,
        child_maxrss=usage.ru_maxrss * 1024,
        foreign_cpu_s=max(0.0, busy - cpu - own),
    )


def machine() -> dict[str, str]:
    """What the figures were measured on: cores, memory, CPU model, Python, tiktoken."""
    model = "unknown"
    for line in (PROC / "cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in (PROC / "meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": model,
        "python": platform.python_version(),
        "tiktoken": _version("tiktoken"),
        "kernel": platform.release(),
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except ImportError:  # pragma: no cover - the venv always has them
        return "?"


def foreign_warning(
    foreign_s: float, wall_s: float, during: str, effect: str = "figures disturbed"
) -> list[str]:
    """A warning line when other processes took more than `FOREIGN_SHARE` of a core."""
    if foreign_s <= FOREIGN_SHARE * wall_s:
        return []
    return [
        f"WARNING: other processes used {foreign_s:.1f} CPU-s during {during} "
        f"({foreign_s / wall_s:.0%} of a core): {effect}"
    ]


def record(lines: list[str], title: str, package: str) -> None:
    """Append a dated block to RESULTS.md: ``title``, the machine, ``package``'s version, the
    commit and the figures (``lines``)."""
    facts = machine()
    git = ["git", "describe", "--always", "--dirty"]  # "-dirty": uncommitted changes
    commit = subprocess.run(
        git, cwd=RESULTS.parent, check=False, capture_output=True, text=True
    ).stdout
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        f"## {when}: {title}",
        "",
        f"Machine: {facts['nproc']} cores (nproc), {facts['memory']} RAM, {facts['cpu']}, "
        f"Linux {facts['kernel']}; Python {facts['python']}, {package} {_version(package)}; "
        f"commit {commit.strip() or 'unknown'}.",
        "",
        "```",
        *lines,
        "```",
    ]
    new = not RESULTS.exists()
    with RESULTS.open("a", encoding="utf-8") as f:
        if new:
            f.write("# Benchmark results\n\n")
            f.write("Appended by each benchmark's `--record`; MB is 10^6 bytes.\n\n")
        f.write("\n".join(block) + "\n\n")
    print(f"recorded in {RESULTS}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure a command's time and tree memory.")
    parser.add_argument("--out", type=Path, help="directory for stdout, stderr, measure.json")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between samples")
    parser.add_argument("--machine", action="store_true", help="print the machine's facts")
    parser.add_argument("--cpu", metavar="NAME=VALUE", help="print busy and marked CPU seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG ...]")
    args = parser.parse_args(argv)
    if args.machine:
        print(json.dumps(machine()))
        return 0
    if args.cpu:
        print(json.dumps(marked_cpu(args.cpu)))
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or args.out is None:
        parser.error("give --out DIR and -- COMMAND")
    args.out.mkdir(parents=True, exist_ok=True)
    measured = run_measured(command, args.out, args.interval)
    (args.out / "measure.json").write_text(json.dumps(asdict(measured)) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
