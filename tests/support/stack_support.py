"""The local stack (``python -m deployments.stack``) for the operations tests, real processes only.

`stack_environment` is this process's environment without Prefect or Azure settings (never the
developer's server or Azure) and with the stack's root. `running_stack` starts the stack there
(``up --port 0`` and the test's options), reads its clients' settings (``env``) and, however
the block ends, stops it (``down``) and kills the process group of any part ``down`` left
running, so nothing leaks into the rest of the suite. `stack_command` runs one of its
commands, `deploy_fine_tune` runs ``prefect deploy`` of ``fine-tune/local`` from prefect.yaml.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deployments._processes import group_alive

__all__ = [
    "StartedStack",
    "deploy",
    "own_environment",
    "running_stack",
    "stack_command",
    "stack_environment",
    "stack_pids",
]

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StartedStack:
    """A stack `running_stack` started."""

    root: Path
    env: dict[str, str]
    """The environment it was started with, plus its clients' settings (``stack env``)."""
    up: subprocess.CompletedProcess[str]
    """What ``stack up`` printed."""


def own_environment() -> dict[str, str]:
    """This environment without ``PREFECT_*`` and ``AZURE_*``: a child started with it reaches
    neither the developer's Prefect server nor Azure, only what the test hands it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AZURE_"))}


def stack_environment(root: Path) -> dict[str, str]:
    """`own_environment`, with ``root`` as the stack's."""
    return own_environment() | {"FTFLOW_STACK_ROOT": str(root)}


def stack_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m deployments.stack ARGS`` from the repository, with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "deployments.stack", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def stack_pids(root: Path) -> dict[str, int]:
    """The stack's parts under ``root`` and their pids (process group leaders), by name."""
    return {p.stem: int(p.read_text()) for p in sorted((root / ".stack").glob("*.pid"))}


@contextmanager
def running_stack(env: dict[str, str], *options: str) -> Iterator[StartedStack]:
    """The stack started with ``env`` (from `stack_environment`) and ``up`` ``options``."""
    root = Path(env["FTFLOW_STACK_ROOT"])
    try:
        up = stack_command(env, "up", "--port", "0", *options)
        assert up.returncode == 0, up.stdout + up.stderr
        exported = stack_command(env, "env")
        assert exported.returncode == 0, exported.stderr
        client_env = dict(env)
        for line in exported.stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            client_env[name] = value
        yield StartedStack(root, client_env, up)
    finally:
        stack_command(env, "down")
        for pid in stack_pids(root).values():
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)  # only if down failed: never leak into the suite


def deploy(
    env: dict[str, str], timeout: float, names: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``prefect deploy --name N …`` from the repository's prefect.yaml, with ``env``;
    ``--all`` when no names are given."""
    selection = [arg for name in names for arg in ("--name", name)] or ["--all"]
    return subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", *selection],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
