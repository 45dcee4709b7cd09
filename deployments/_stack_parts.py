"""The parts of the local stack: where its files live, how each process starts and is judged
ready, and the environments they get. `deployments.stack` puts them in order."""

import contextlib
import fcntl
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from deployments._processes import Managed
from deployments.pools import LOCAL_POOL

__all__ = [
    "EMULATOR_SETTINGS",
    "SERVER_START_SECONDS",
    "WORKER_NAME",
    "Layout",
    "StackError",
    "choose_port",
    "client_env",
    "database_label",
    "env_lines",
    "read_env",
    "run_step",
    "server_healthy",
    "start_emulator",
    "start_server",
    "start_worker",
    "stop_all",
    "wait_for_emulator",
    "wait_for_server",
    "wait_for_worker",
    "worker_name",
]

WORKER_NAME = "ftflow-local-worker"
SERVER_START_SECONDS = 180.0
"""A cold SQLite server migrates its database first: ~12 s here, far more on a busy machine."""

EMULATOR_SETTINGS = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_CA_BUNDLE",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_OPENAI_ACCOUNT",
    "AZURE_MANAGEMENT_ENDPOINT",
    "AZURE_MANAGEMENT_CA_BUNDLE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "FTFLOW_EMULATOR_URL",
)
"""What the emulator prints once it listens; all of it reaches the worker."""

# Inherited settings that would point a stack process at another server, profile or Azure.
_NOT_INHERITED = ("PREFECT_", "AZURE_", "FTFLOW_EMULATOR_", "FTFLOW_HOME", "FTFLOW_STACK_")
_POLL_SECONDS = 0.25


class StackError(Exception):
    """A part of the stack did not start or answer; the message says which and why."""


@dataclass(frozen=True)
class Layout:
    """Where the stack's files live: the code in ``project``, the state under ``root``."""

    project: Path
    root: Path

    @staticmethod
    def find_project() -> Path:
        """The repository holding ``prefect.yaml`` and the flows (this package's parent)."""
        project = Path(__file__).resolve().parents[1]
        if not (project / "prefect.yaml").is_file():
            raise StackError(f"{project} has no prefect.yaml: run from an ftflow checkout")
        return project

    @property
    def stack_dir(self) -> Path:
        """Pid files, logs, env files."""
        return self.root / ".stack"

    @property
    def prefect_home(self) -> Path:
        """``PREFECT_HOME``: the server's SQLite database, result storage."""
        return self.root / ".prefect"

    @property
    def emulator_data(self) -> Path:
        """The emulator's state: files, jobs, deployments, its CA and secrets."""
        return self.root / ".emulator"

    @property
    def client_env(self) -> Path:
        """Client settings (no secret), sourceable by a shell."""
        return self.stack_dir / "prefect.env"

    @property
    def emulator_env(self) -> Path:
        """The emulator's printed settings, secrets included: mode 0600."""
        return self.stack_dir / "emulator.env"

    def _managed(
        self, name: str, marker: str, first_signal: signal.Signals = signal.SIGTERM
    ) -> Managed:
        pid_file, log_file = self.stack_dir / f"{name}.pid", self.stack_dir / f"{name}.log"
        return Managed(name, pid_file, log_file, marker, first_signal)

    @property
    def server(self) -> Managed:
        """``prefect server start``."""
        return self._managed("server", "prefect server start")

    @property
    def emulator(self) -> Managed:
        """``python -m emulator serve``."""
        return self._managed("emulator", "emulator serve")

    @property
    def worker(self) -> Managed:
        """The first ``prefect worker start``: SIGINT is its graceful stop."""
        return self.worker_at(1)

    def worker_at(self, number: int) -> Managed:
        """Worker ``number`` (from 1): ``worker``, then ``worker-2``, ``worker-3`` …"""
        name = "worker" if number == 1 else f"worker-{number}"
        return self._managed(name, "prefect worker start", first_signal=signal.SIGINT)

    def recorded_workers(self) -> list[Managed]:
        """The first worker and every other one with a pid file, in order."""
        numbers = {1}
        for pid_file in self.stack_dir.glob("worker-*.pid"):
            suffix = pid_file.stem.removeprefix("worker-")
            if suffix.isdigit() and int(suffix) > 1:
                numbers.add(int(suffix))
        return [self.worker_at(number) for number in sorted(numbers)]

    def prepare(self) -> None:
        """Create the directories (the stack's own private: it holds secrets)."""
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        self.stack_dir.chmod(0o700)
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        self.emulator_data.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the stack's lock: two ``up`` at once would both start a server."""
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        with (self.stack_dir / "lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("waiting for another stack command to finish …", file=sys.stderr)
                fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def ready_pids(self) -> tuple[int | None, ...]:
        """The (server, emulator, worker …) pids of the last complete ``up``."""
        try:
            return tuple(int(p) for p in (self.stack_dir / "ready").read_text().split())
        except (OSError, ValueError):
            return ()

    def write_ready(self, pids: tuple[int, ...]) -> None:
        """Record a complete ``up``."""
        (self.stack_dir / "ready").write_text(" ".join(map(str, pids)) + "\n")

    def forget(self) -> None:
        """Remove what only a running stack means (env files, ready stamp)."""
        for path in (self.client_env, self.emulator_env, self.stack_dir / "ready"):
            path.unlink(missing_ok=True)


def read_env(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (values possibly shell-quoted) as a dict; empty when missing."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            parsed = shlex.split(value) if value.startswith(("'", '"')) else [value]
            values[name.strip()] = parsed[0] if parsed else ""
    return values


def env_lines(values: Mapping[str, str]) -> str:
    """``values`` as ``NAME=value`` lines a shell can source."""
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())


def _inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}


def client_env(layout: Layout, url: str) -> dict[str, str]:
    """What a Prefect client of this stack needs (no secret)."""
    return {
        "PREFECT_API_URL": f"{url}/api",
        "PREFECT_UI_URL": url,
        "PREFECT_HOME": str(layout.prefect_home),
    }


def choose_port(wanted: int) -> int:
    """``wanted`` when it is free on 127.0.0.1, else (or for 0) a free port."""
    if wanted and _free(wanted):
        return wanted
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_server(layout: Layout, port: int, database_url: str | None = None) -> int:
    """Start ``prefect server start`` on ``port``; returns its pid.

    Its database is SQLite under ``PREFECT_HOME`` unless ``database_url`` (a SQLAlchemy URL,
    ``postgresql+asyncpg://…``) names another: the server migrates it on start.
    """
    env = _inherited() | {
        "PREFECT_HOME": str(layout.prefect_home),
        "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
        # The UI asks the API here; Prefect's default is port 4200 whatever --port says.
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--analytics-off"]
    return layout.server.start(command, cwd=layout.project, env=env)


def database_label(database_url: str | None) -> str:
    """The server's database for output: its kind, host and name, never a password."""
    if not database_url:
        return "SQLite"
    parts = urlsplit(database_url)
    kind = "PostgreSQL" if parts.scheme.startswith("postgresql") else parts.scheme
    return f"{kind} {parts.hostname}:{parts.port or 5432}{parts.path}"


def server_healthy(url: str) -> bool:
    """Whether the server at ``url`` answers its health check."""
    try:
        return httpx.get(f"{url}/api/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for_server(managed: Managed, url: str, timeout: float) -> None:
    """Return once ``url`` is healthy; `StackError` if the server exits or is too slow."""
    deadline = time.monotonic() + timeout
    while not server_healthy(url):
        _check_alive(managed, "the Prefect server")
        if time.monotonic() > deadline:
            raise StackError(f"the Prefect server at {url} is not healthy after {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def start_emulator(layout: Layout, speed: float) -> int:
    """Start the emulator, its stdout (the settings) into the private env file."""
    fd = os.open(layout.emulator_env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    command = [sys.executable, "-m", "emulator", "serve", "--port", "0"]
    command += ["--data-dir", str(layout.emulator_data), "--speed", str(speed)]
    with os.fdopen(fd, "wb") as settings:
        return layout.emulator.start(command, cwd=layout.project, env=_inherited(), stdout=settings)


def wait_for_emulator(managed: Managed, env_file: Path, timeout: float) -> dict[str, str]:
    """The emulator's settings once all are printed and it accepts connections."""
    deadline = time.monotonic() + timeout
    while True:
        settings = read_env(env_file)
        if all(name in settings for name in EMULATOR_SETTINGS) and _accepts(
            settings["AZURE_OPENAI_ENDPOINT"]
        ):
            return {name: settings[name] for name in EMULATOR_SETTINGS}
        _check_alive(managed, "the emulator")
        if time.monotonic() > deadline:
            raise StackError(f"the emulator printed no settings within {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def _accepts(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 443), timeout=2.0):
            return True
    except OSError:
        return False


def worker_name(number: int) -> str:
    """The name worker ``number`` reports to the server under."""
    return WORKER_NAME if number == 1 else f"{WORKER_NAME}-{number}"


def start_worker(layout: Layout, url: str, settings: Mapping[str, str], number: int = 1) -> int:
    """Start process worker ``number`` of the local pool, the emulator's settings in its env."""
    env = _inherited() | client_env(layout, url) | dict(settings)
    env |= {
        "FTFLOW_HOME": str(layout.project),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    }
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", LOCAL_POOL]
    command += ["--name", worker_name(number), "--type", "process", "--install-policy", "never"]
    command += ["--no-create-pool-if-not-found"]
    return layout.worker_at(number).start(command, cwd=layout.project, env=env)


def wait_for_worker(
    managed: Managed, url: str, since: float, name: str = WORKER_NAME, timeout: float = 60.0
) -> None:
    """Return once worker ``name`` has sent the server a heartbeat after ``since`` (epoch)."""
    after = datetime.fromtimestamp(since).astimezone() - timedelta(seconds=2)
    deadline = time.monotonic() + timeout
    while True:
        _check_alive(managed, "the worker")
        try:
            response = httpx.post(
                f"{url}/api/work_pools/{LOCAL_POOL}/workers/filter", json={}, timeout=5.0
            )
            workers = response.json() if response.status_code == 200 else []
        except httpx.HTTPError:
            workers = []
        for worker in workers:
            beat = worker.get("last_heartbeat_time")
            if worker.get("name") == name and beat and datetime.fromisoformat(beat) >= after:
                return
        if time.monotonic() > deadline:
            raise StackError(f"worker {name} did not reach the server within {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def run_step(
    layout: Layout,
    name: str,
    args: Sequence[str],
    settings: Mapping[str, str],
    *,
    url: str | None = None,
) -> list[str]:
    """Run ``python ARGS`` with the emulator's settings (and the server's, given ``url``);
    its output is appended to ``.stack/NAME.log``; returns its stdout lines."""
    env = _inherited() | dict(settings)
    if url is not None:
        env |= client_env(layout, url)
    done = subprocess.run(
        [sys.executable, *args],
        cwd=layout.project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = layout.stack_dir / f"{name}.log"
    with log.open("a") as out:
        out.write(f"$ python {' '.join(args)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise StackError(f"{name} failed (exit {done.returncode}):\n{tail}\n(see {log})")
    return done.stdout.splitlines()


def stop_all(layout: Layout) -> list[tuple[str, str]]:
    """Stop the workers and the emulator (together), then the server the workers report to;
    returns how each stopped."""
    parts = [(worker.name, worker) for worker in layout.recorded_workers()]
    parts.append(("emulator", layout.emulator))
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        hows = list(pool.map(lambda part: part[1].stop(timeout=45.0), parts))
    hows.append(layout.server.stop(timeout=45.0))
    layout.forget()
    names = [name for name, _ in parts] + ["prefect server"]
    said = [how if how == "not running" else f"stopped ({how})" for how in hows]
    return list(zip(names, said, strict=True))


def _check_alive(managed: Managed, what: str) -> None:
    if managed.pid() is None:
        raise StackError(f"{what} exited; last lines of {managed.log_file}:\n{managed.log_tail()}")
