"""``python -m deployments.stack up|down|status|env``: the local Prefect stack, by pid.

``up`` starts what is not already running, in the background, and returns once it works:

1. ``prefect server start`` on 127.0.0.1 (port 4200, or a free one when 4200 is taken),
   SQLite under ``<root>/.prefect`` (``PREFECT_HOME``); ready when ``/api/health`` answers.
   ``--database-url postgresql+asyncpg://…`` puts its database on PostgreSQL instead, as in
   production: SQLite locks under many concurrent runs (see the README).
2. The Azure emulator (``python -m emulator serve --port 0 --data-dir <root>/.emulator``);
   the settings it prints, secrets included, go to ``.stack/emulator.env`` (mode 0600) and
   are never echoed.
3. The base model the smoke test compares with (``python -m deployments.base_model``).
4. ``python -m deployments.setup``: work pools, automations, the training concurrency limit.
5. ``prefect worker start --pool ftflow-local``, its environment holding the emulator's
   settings, ``FTFLOW_HOME`` and ``PREFECT_WORKER_QUERY_SECONDS=1``: the flow runs it starts
   inherit them, which is how ``fine-tune/local`` reaches the emulator. ``--workers N``
   starts N of them on the pool (``worker``, ``worker-2`` …), as a scaled-out deployment
   would run several machines; workers beyond N left from an earlier ``up`` are stopped.

Pids go to ``.stack/*.pid``, output to ``.stack/*.log``; ``.stack/prefect.env`` holds the
client settings (``PREFECT_API_URL``, ``PREFECT_HOME``; no secret) for
``set -a; . .stack/prefect.env; set +a``. A second ``up`` finds everything alive and healthy
and starts nothing. ``down`` stops exactly the recorded processes (worker SIGINT, emulator
and server SIGTERM, each escalating to SIGKILL) with their process groups.

The state root defaults to the repository (``--root`` or ``FTFLOW_STACK_ROOT`` to move it,
as the tests do), the port to 4200 (``--port``/``FTFLOW_STACK_PORT``; 0 for any free port).
"""

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from deployments._processes import Managed
from deployments._stack_parts import (
    SERVER_START_SECONDS,
    Layout,
    StackError,
    choose_port,
    client_env,
    database_label,
    env_lines,
    read_env,
    run_step,
    server_healthy,
    start_emulator,
    start_server,
    start_worker,
    stop_all,
    wait_for_emulator,
    wait_for_server,
    wait_for_worker,
    worker_name,
)

__all__ = ["Layout", "StackError", "down", "main", "status", "up"]

DEFAULT_PORT = 4200
DEFAULT_SPEED = 600.0
DEFAULT_PARAMS = Path("examples/emulator-params.json")


def _say(line: str) -> None:
    print(line, flush=True)


def _running_server(layout: Layout) -> tuple[int, str] | None:
    pid = layout.server.pid()
    url = read_env(layout.client_env).get("PREFECT_UI_URL")
    if pid is None or url is None:
        return None
    if not server_healthy(url):
        # Alive but not answering: still starting (another `up` died) or wedged.
        try:
            wait_for_server(layout.server, url, SERVER_START_SECONDS)
        except StackError:
            return None
    return pid, url


def _running_emulator(layout: Layout) -> tuple[int, dict[str, str]] | None:
    pid = layout.emulator.pid()
    if pid is None:
        return None
    try:
        return pid, wait_for_emulator(layout.emulator, layout.emulator_env, timeout=5.0)
    except StackError:
        return None


def up(
    layout: Layout,
    *,
    port: int,
    speed: float,
    params: Path,
    workers: int = 1,
    database_url: str | None = None,
) -> None:
    """Start whatever part of the stack is not running; see the module docstring."""
    if workers < 1:
        raise StackError(f"--workers must be at least 1, not {workers}")
    layout.prepare()
    server = _running_server(layout)
    emulator = _running_emulator(layout)
    wanted = [layout.worker_at(number) for number in range(1, workers + 1)]
    extra = [w for w in layout.recorded_workers() if w.name not in {m.name for m in wanted}]
    worker_pids = [managed.pid() for managed in wanted]
    pids = (server and server[0], emulator and emulator[0], *worker_pids)
    if server and emulator and all(worker_pids) and not extra and layout.ready_pids() == pids:
        _say(f"The local stack is already running: Prefect UI {server[1]}")
        return
    started = time.monotonic()
    if server is None:
        layout.server.stop()
        chosen = choose_port(port)
        if port not in (0, chosen):
            _say(f"port {port} is taken: the Prefect server uses {chosen}")
        server_pid = start_server(layout, chosen, database_url)
        url = f"http://127.0.0.1:{chosen}"
        _say(
            f"prefect server  starting  pid {server_pid}, {url}, "
            f"{database_label(database_url)}, logs {layout.server.log_file}"
        )
    else:
        server_pid, url = server
        _say(f"prefect server  running   pid {server_pid}, {url}")
    if emulator is None:
        layout.emulator.stop()
        emulator_pid = start_emulator(layout, speed)
        settings = wait_for_emulator(layout.emulator, layout.emulator_env, timeout=60.0)
        _say(f"emulator        started   pid {emulator_pid}, {settings['AZURE_OPENAI_ENDPOINT']}")
    else:
        emulator_pid, settings = emulator
        _say(f"emulator        running   pid {emulator_pid}, {settings['AZURE_OPENAI_ENDPOINT']}")
    base = run_step(layout, "base_model", ["-m", "deployments.base_model", str(params)], settings)
    _say(f"base model      {base[-1] if base else 'done'}")
    if server is None:
        wait_for_server(layout.server, url, SERVER_START_SECONDS)
        _say(f"prefect server  healthy   after {time.monotonic() - started:.1f} s")
    layout.client_env.write_text(env_lines(client_env(layout, url)))
    for line in run_step(layout, "setup", ["-m", "deployments.setup"], settings, url=url):
        _say(f"setup           {line}")
    for managed in extra:
        _say(f"{managed.name:<15} stopped   ({managed.stop()}; beyond --workers {workers})")
    # A worker keeps running only with the server and emulator it was started for; the
    # others start together, then each is awaited (its first heartbeat).
    final_pids: list[int] = []
    fresh: list[tuple[int, Managed]] = []
    since = time.time()
    for number, (managed, running) in enumerate(zip(wanted, worker_pids, strict=True), 1):
        if running is not None and server is not None and emulator is not None:
            _say(f"{managed.name:<15} running   pid {running}, pool ftflow-local")
            final_pids.append(running)
        else:
            managed.stop()
            final_pids.append(start_worker(layout, url, settings, number))
            fresh.append((number, managed))
    for number, managed in fresh:
        wait_for_worker(managed, url, since, worker_name(number))
        _say(f"{managed.name:<15} started   pid {final_pids[number - 1]}, pool ftflow-local")
    layout.write_ready((server_pid, emulator_pid, *final_pids))
    _say(f"The local stack is up ({time.monotonic() - started:.1f} s): Prefect UI {url}")


def down(layout: Layout) -> None:
    """Stop the recorded worker, emulator and server (and their process groups)."""
    for name, how in stop_all(layout):
        _say(f"{name:<15} {how}")


def status(layout: Layout) -> bool:
    """Print each part's state; whether all of them run."""
    parts: list[tuple[str, Managed]] = [
        ("prefect server", layout.server),
        ("emulator", layout.emulator),
        *((worker.name, worker) for worker in layout.recorded_workers()),
    ]
    running = True
    for name, managed in parts:
        pid = managed.pid()
        running = running and pid is not None
        _say(f"{name:<15} {f'running   pid {pid}' if pid else 'stopped'}")
    url = read_env(layout.client_env).get("PREFECT_UI_URL")
    if running and url:
        healthy = "healthy" if server_healthy(url) else "NOT answering"
        _say(f"Prefect UI      {url} ({healthy})")
    return running


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deployments.stack",
        description="Run the local Prefect stack (server, emulator, worker) in the background.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("FTFLOW_STACK_ROOT") or Layout.find_project()),
        help="Where .prefect, .emulator and .stack live (env FTFLOW_STACK_ROOT; default: "
        "the repository).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="Start what is not running; wait until it works.")
    start.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("FTFLOW_STACK_PORT") or DEFAULT_PORT),
        help="Prefect server port; the next free one when taken, 0 for any "
        "(env FTFLOW_STACK_PORT, default %(default)s).",
    )
    start.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help="Emulator clock: simulated seconds per second (default %(default)s).",
    )
    start.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Process workers to run on the pool ftflow-local (default %(default)s).",
    )
    start.add_argument(
        "--database-url",
        default=os.environ.get("FTFLOW_STACK_DATABASE_URL") or None,
        help="The Prefect server's database, e.g. postgresql+asyncpg://user:password@host:5432/"
        "prefect (env FTFLOW_STACK_DATABASE_URL, which keeps the password off the command "
        "line; default: SQLite under ROOT/.prefect). Used when the server starts.",
    )
    start.add_argument(
        "--params",
        type=Path,
        help=f"Flow parameters naming the base model to deploy (default {DEFAULT_PARAMS}).",
    )
    commands.add_parser("down", help="Stop the recorded processes.")
    commands.add_parser("status", help="Show what runs; exit 1 unless everything does.")
    commands.add_parser(
        "env", help="Print the client settings (and FTFLOW_STACK_DIR) as shell exports."
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stack command; 0 on success, 1 on failure (the failing part's log shown)."""
    args = _parse_args(argv)
    layout = Layout(project=Layout.find_project(), root=args.root.resolve())
    try:
        with layout.locked():
            if args.command == "up":
                up(
                    layout,
                    port=args.port,
                    speed=args.speed,
                    params=(args.params or layout.project / DEFAULT_PARAMS).resolve(),
                    workers=args.workers,
                    database_url=args.database_url,
                )
            elif args.command == "down":
                down(layout)
            elif args.command == "status":
                return 0 if status(layout) else 1
            else:
                values = read_env(layout.client_env)
                if not values:
                    raise StackError("the stack is not running (python -m deployments.stack up)")
                values["FTFLOW_STACK_DIR"] = str(layout.stack_dir)
                print(
                    "".join(f"export {line}" for line in env_lines(values).splitlines(True)), end=""
                )
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
