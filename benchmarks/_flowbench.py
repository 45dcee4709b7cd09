"""What the flow benchmarks share: the local stack, the emulator's client and the CPU meter.

``flow_overhead.py``, ``flow_polling.py`` and ``flow_concurrency.py`` import it as a sibling
(``benchmarks/`` is not a package; a script's own folder is first on ``sys.path``).

Every process a benchmark starts inherits ``MARK`` in its environment (`mark`), the stack's
server, emulator, worker and flow runs included; `CpuMeter` asks ``_measure.py --cpu`` (in its
own process, so that it counts its caller) for the CPU time of the marked processes and of the
whole machine, and the rest is other work.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import ssl
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx

__all__ = [
    "API_VERSION",
    "FTFLOW",
    "JOBS",
    "MARK",
    "PARAMS",
    "REPO",
    "CpuMeter",
    "Stack",
    "emulator_client",
    "mark",
    "own_env",
    "run_command",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PARAMS = REPO / "examples" / "emulator-params.json"
FTFLOW = Path(sys.executable).parent / "ftflow"
MARK = "FTFLOW_BENCHMARK_RUN"
JOBS = "/openai/fine_tuning/jobs"
API_VERSION = "2025-04-01-preview"


def mark() -> None:
    """Put a new ``MARK`` in this process's environment, for everything it starts."""
    os.environ[MARK] = uuid.uuid4().hex


def own_env() -> dict[str, str]:
    """This environment without settings that would point a child at another server or Azure."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AZURE_"))}


def run_command(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` from the repository with ``env``; its stdout and stderr together, as text."""
    return subprocess.run(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def _cpu_seconds() -> tuple[float, float]:
    """(CPU s the machine has been busy, CPU s of this process and of every process carrying
    ``MARK``, which everything it starts inherits), from ``_measure.py --cpu``."""
    command = [sys.executable, str(HERE / "_measure.py"), "--cpu", f"{MARK}={os.environ[MARK]}"]
    found = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    return float(found["busy"]), float(found["marked"])


class CpuMeter:
    """CPU seconds from its creation to `read`: the marked processes' and other work's."""

    def __init__(self) -> None:
        self.busy, self.ours = _cpu_seconds()

    def read(self) -> tuple[float, float]:
        """(CPU s of this process and the marked ones, CPU s of other processes) so far."""
        busy, ours = _cpu_seconds()
        return ours - self.ours, max(0.0, (busy - self.busy) - (ours - self.ours))


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


def emulator_client(settings: Mapping[str, str], timeout: float = 30.0) -> httpx.Client:
    """A client of the emulator's API, from its ``AZURE_OPENAI_*`` settings."""
    return httpx.Client(
        base_url=settings["AZURE_OPENAI_ENDPOINT"],
        headers={"api-key": settings["AZURE_OPENAI_API_KEY"]},
        verify=ssl.create_default_context(cafile=settings["AZURE_OPENAI_CA_BUNDLE"]),
        timeout=timeout,
    )
