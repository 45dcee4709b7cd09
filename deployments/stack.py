"""``python -m deployments.stack up|down|status|env``: the local Prefect stack, by pid.

``up`` starts what is not already running, in the background, and returns once it works:

1. ``prefect server start`` on 127.0.0.1 (port 4200, or a free one when 4200 is taken),
   SQLite under ``<root>/.prefect`` (``PREFECT_HOME``); ready when ``/api/health`` answers.
2. The Azure emulator (``python -m emulator serve --port 0 --data-dir <root>/.emulator``);
   the settings it prints, secrets included, go to ``.stack/emulator.env`` (mode 0600) and
   are never echoed.
3. The base model the smoke test compares with (``python -m deployments.base_model``).
4. ``python -m deployments.setup``: work pools, automations, the training concurrency limit.
5. ``prefect worker start --pool ftflow-local``, its environment holding the emulator's
   settings, ``FTFLOW_HOME`` and ``PREFECT_WORKER_QUERY_SECONDS=1``: the flow runs it starts
   inherit them, which is how ``fine-tune/local`` reaches the emulator.

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


def up(layout: Layout, *, port: int, speed: float, params: Path) -> None:
    """Start whatever part of the stack is not running; see the module docstring."""
    layout.prepare()
    server = _running_server(layout)
    emulator = _running_emulator(layout)
    worker_pid = layout.worker.pid()
    pids = (server and server[0], emulator and emulator[0], worker_pid)
    if server and emulator and worker_pid and layout.ready_pids() == pids:
        _say(f"The local stack is already running: Prefect UI {server[1]}")
        return
    started = time.monotonic()
    if server is None:
        layout.server.stop()
        chosen = choose_port(port)
        if port not in (0, chosen):
            _say(f"port {port} is taken: the Prefect server uses {chosen}")
        server_pid, url = start_server(layout, chosen), f"http://127.0.0.1:{chosen}"
        _say(f"prefect server  starting  pid {server_pid}, {url}, logs {layout.server.log_file}")
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
    if worker_pid is not None and server is not None and emulator is not None:
        _say(f"worker          running   pid {worker_pid}, pool ftflow-local")
    else:
        layout.worker.stop()
        since = time.time()
        worker_pid = start_worker(layout, url, settings)
        wait_for_worker(layout.worker, url, since)
        _say(f"worker          started   pid {worker_pid}, pool ftflow-local")
    layout.write_ready((server_pid, emulator_pid, worker_pid))
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
        ("worker", layout.worker),
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
